#include "support/python.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace augcore::testing {

PythonResult run_python(const std::string& script, const std::vector<std::string>& args) {
  std::string command = std::string("'") + AUGCORE_TEST_PYTHON + "' '" +
                        std::string(AUGCORE_SOURCE_DIR) + "/tests/python/" + script + "'";
  for (const auto& a : args)
    command += " '" + a + "'";
  command += " 2>&1";
  PythonResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe))
    result.output += buffer.data();
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace augcore::testing

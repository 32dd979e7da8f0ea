#include "support/python.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

namespace augcore::testing {

PythonResult run_python(const std::string& script, const std::vector<std::string>& args) {
  const char* override_python = std::getenv("AUGCORE_TEST_PYTHON");
  std::string command = std::string("'") +
                        (override_python ? override_python : AUGCORE_TEST_PYTHON) + "' '" +
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

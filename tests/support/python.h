// Running the reference Python (Debian's /usr/bin/python3 with torch and torchvision) from tests.
#pragma once

#include <string>
#include <vector>

namespace augcore::testing {

struct PythonResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs tests/python/<script> with `args` under /usr/bin/python3.
PythonResult run_python(const std::string& script, const std::vector<std::string>& args);

}  // namespace augcore::testing

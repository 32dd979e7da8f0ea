// Running the reference Python (torch, torchvision; timm in the modern toolchain) from tests.
#pragma once

#include <string>
#include <vector>

namespace augcore::testing {

struct PythonResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs tests/python/<script> with `args` under the build's AUGCORE_TEST_PYTHON (Debian's
// /usr/bin/python3, or the modern toolchain's venv); the environment variable
// AUGCORE_TEST_PYTHON, when set, names another (e.g. the venv's, to check against timm).
PythonResult run_python(const std::string& script, const std::vector<std::string>& args);

}  // namespace augcore::testing

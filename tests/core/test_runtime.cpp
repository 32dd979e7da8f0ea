// Runtime facts checked against the reference PyTorch of the same release.
#include <gtest/gtest.h>

#include <sstream>

#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "support/python.h"

namespace augcore {
namespace {

TEST(RuntimeTest, MklExactlyWhereTheSamePyTorchBuildNamesItsBlas) {
  const auto py = testing::run_python("torch_build.py", {});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  std::istringstream line(py.output);
  std::string version, blas;
  line >> version >> blas;
  // The same major.minor release (Debian's Python says 1.13.0a0, its LibTorch 1.13.0).
  const auto release = [](const std::string& v) {
    return v.substr(0, v.find('.', v.find('.') + 1));
  };
  if (release(compat::torch_version()) != release(version)) {
    GTEST_SKIP() << "the reference Python has torch " << version << ", LibTorch is "
                 << compat::torch_version();
  }
  EXPECT_EQ(torch_uses_mkl(), blas == "mkl") << "the same PyTorch's BLAS_INFO is " << blas;
}

}  // namespace
}  // namespace augcore

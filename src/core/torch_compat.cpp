#include "augcore/core/torch_compat.h"

#if AUGCORE_WITH_CUDA
#include <ATen/Context.h>
#endif

namespace augcore::compat {

bool cuda_available() {
#if AUGCORE_WITH_CUDA
  return at::hasCUDA();
#else
  return false;
#endif
}

const char* torch_version() {
  return TORCH_VERSION;
}

}  // namespace augcore::compat

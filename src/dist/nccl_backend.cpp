// Built with USE_C10D_NCCL (and AUGCORE_WITH_NCCL) only where LibTorch has CUDA and NCCL.
#include "dist/backends.h"

#include "augcore/core/error.h"

#if defined(AUGCORE_WITH_NCCL) && AUGCORE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace augcore::dist {

#if defined(AUGCORE_WITH_NCCL) && AUGCORE_WITH_NCCL

bool nccl_built() {
  return true;
}

c10::intrusive_ptr<compat::CollectiveBackend> make_nccl_backend(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
    std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}

#else

bool nccl_built() {
  return false;
}

c10::intrusive_ptr<compat::CollectiveBackend> make_nccl_backend(
    const c10::intrusive_ptr<c10d::Store>&, int, int, std::chrono::milliseconds) {
  throw ConfigError(
      "dist.backend: nccl needs a LibTorch built with CUDA and NCCL; this one "
      "has neither (use gloo)");
}

#endif

}  // namespace augcore::dist

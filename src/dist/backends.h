// Construction of the c10d backends augcore uses (Gloo here, NCCL in nccl_backend.cpp).
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

#include "augcore/core/torch_compat.h"

namespace augcore::dist {

// Whether this build can make NCCL process groups (a LibTorch with CUDA and NCCL).
bool nccl_built();

// A ProcessGroupNCCL over `store`; throws ConfigError where nccl_built() is false.
c10::intrusive_ptr<compat::CollectiveBackend> make_nccl_backend(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
    std::chrono::milliseconds timeout);

}  // namespace augcore::dist

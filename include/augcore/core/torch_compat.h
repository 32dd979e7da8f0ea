// The one place where differences between LibTorch versions (1.13 CPU, 2.x CUDA) are handled.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <string>
#include <type_traits>
#include <utility>

#define AUGCORE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||          \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// AUGCORE_WITH_CUDA is defined to 1 by the build when the Torch it found was built with CUDA.
#ifndef AUGCORE_WITH_CUDA
#define AUGCORE_WITH_CUDA 0
#endif

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace augcore::compat {

// The c10d class that ProcessGroupGloo and ProcessGroupNCCL derive from: ProcessGroup in 1.x,
// Backend in 2.x (where ProcessGroup became a dispatcher over several backends).
#if AUGCORE_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

// True when this build has CUDA support and a CUDA device is visible at run time.
bool cuda_available();

// Waits for the work queued on `device` (a no-op on CPU), so that timings cover it.
void synchronize(const c10::Device& device);

// The number of CUDA devices visible (0 without CUDA), and making one this thread's current.
int cuda_device_count();
void set_cuda_device(int index);

// The name of CUDA device 0 ("" without CUDA).
std::string cuda_device_name();

// "major.minor.patch" of the LibTorch headers this build was compiled against.
const char* torch_version();

// softmax(q·kᵀ/√d)·v over the last two dimensions (q, k, v: N×H×T×d). Uses LibTorch's fused
// kernel where it exists (2.0+), the explicit formula otherwise.
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v);

// The explicit formula of scaled_dot_product_attention, on every version (the reference its
// fused kernel is tested against, and the path that also yields the attention weights).
at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// Turns CUDA autocast on with `dtype` (bf16 or fp16) / off again, clearing its cast cache.
void enter_cuda_autocast(at::ScalarType dtype);
void exit_cuda_autocast();

// The key LibTorch's optimizers file a parameter's state under: its TensorImpl's address,
// printed to a string in 1.x, the pointer itself in 2.x.
using OptimizerStateKey =
    typename std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
OptimizerStateKey optimizer_state_key(const at::Tensor& parameter);

// Whether CUDA autocast is on in this thread, and the dtype it casts to.
bool cuda_autocast_enabled();
at::ScalarType cuda_autocast_dtype();

}  // namespace augcore::compat

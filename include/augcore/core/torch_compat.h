// The one place where differences between LibTorch versions (1.13 CPU, 2.x CUDA) are handled.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/version.h>

#include <string>

#define AUGCORE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||          \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// AUGCORE_WITH_CUDA is defined to 1 by the build when the Torch it found was built with CUDA.
#ifndef AUGCORE_WITH_CUDA
#define AUGCORE_WITH_CUDA 0
#endif

namespace augcore::compat {

// True when this build has CUDA support and a CUDA device is visible at run time.
bool cuda_available();

// Waits for the work queued on `device` (a no-op on CPU), so that timings cover it.
void synchronize(const c10::Device& device);

// The name of CUDA device 0 ("" without CUDA).
std::string cuda_device_name();

// "major.minor.patch" of the LibTorch headers this build was compiled against.
const char* torch_version();

// softmax(q·kᵀ/√d)·v over the last two dimensions (q, k, v: N×H×T×d). Uses LibTorch's fused
// kernel where it exists (2.0+), the explicit formula otherwise.
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v);

// Turns CUDA autocast on with `dtype` (bf16 or fp16) / off again, clearing its cast cache.
void enter_cuda_autocast(at::ScalarType dtype);
void exit_cuda_autocast();

}  // namespace augcore::compat

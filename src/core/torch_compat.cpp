#include "augcore/core/torch_compat.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <cmath>

#if AUGCORE_WITH_CUDA
#include <ATen/Context.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace augcore::compat {

bool cuda_available() {
#if AUGCORE_WITH_CUDA
  return at::hasCUDA();
#else
  return false;
#endif
}

void synchronize(const c10::Device& device) {
#if AUGCORE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

std::string cuda_device_name() {
#if AUGCORE_WITH_CUDA
  if (at::hasCUDA()) return at::cuda::getDeviceProperties(0)->name;
#endif
  return "";
}

const char* torch_version() {
  return TORCH_VERSION;
}

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                        const at::Tensor& v) {
#if AUGCORE_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
#endif
}

}  // namespace augcore::compat

namespace augcore::compat {

void enter_cuda_autocast(at::ScalarType dtype) {
#if AUGCORE_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(true);
#endif
  at::autocast::increment_nesting();
}

void exit_cuda_autocast() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if AUGCORE_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
}

}  // namespace augcore::compat

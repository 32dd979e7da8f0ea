#include "augcore/core/torch_compat.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <cmath>
#include <sstream>

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

int cuda_device_count() {
#if AUGCORE_WITH_CUDA
  return at::hasCUDA() ? static_cast<int>(c10::cuda::device_count()) : 0;
#else
  return 0;
#endif
}

void set_cuda_device(int index) {
#if AUGCORE_WITH_CUDA
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
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
  return explicit_attention(q, k, v);
#endif
}

at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
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

namespace {

template <class Key>
Key state_key(c10::TensorImpl* impl) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;  // as c10::guts::to_string, which LibTorch 1.x keyed its state by
    s << impl;
    return s.str();
  } else {
    return impl;
  }
}

}  // namespace

OptimizerStateKey optimizer_state_key(const at::Tensor& parameter) {
  return state_key<OptimizerStateKey>(parameter.unsafeGetTensorImpl());
}

bool cuda_autocast_enabled() {
#if AUGCORE_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

at::ScalarType cuda_autocast_dtype() {
#if AUGCORE_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

}  // namespace augcore::compat

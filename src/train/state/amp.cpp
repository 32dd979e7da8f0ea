#include "augcore/train/state/amp.h"

#include <ATen/ATen.h>

#include "augcore/core/pth.h"
#include "augcore/core/torch_compat.h"
#include "augcore/train/state/checkpoint.h"

namespace augcore::train {

AutocastGuard::AutocastGuard(bool enabled, at::ScalarType dtype) : enabled_(enabled) {
  if (enabled_) compat::enter_cuda_autocast(dtype);
}

AutocastGuard::~AutocastGuard() {
  if (enabled_) compat::exit_cuda_autocast();
}

LossScaler::LossScaler(double initial, std::int64_t interval)
    : scale_(initial), interval_(interval) {}

bool LossScaler::unscale(const std::vector<at::Tensor>& params) {
  // One flag per gradient, read back together: a single wait for the GPU per step.
  std::vector<at::Tensor> finite;
  for (const auto& p : params) {
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.div_(scale_);
    finite.push_back(at::isfinite(g).all());
  }
  return finite.empty() || at::stack(finite).all().item<bool>();
}

void LossScaler::update(bool finite) {
  if (!finite) {
    scale_ *= 0.5;
    clean_steps_ = 0;
  } else if (++clean_steps_ >= interval_) {
    scale_ *= 2.0;
    clean_steps_ = 0;
  }
}

c10::impl::GenericDict LossScaler::state_dict() const {
  auto state = pth::new_dict();
  state.insert("scale", scale_);
  state.insert("clean_steps", clean_steps_);
  return state;
}

void LossScaler::load_state_dict(const c10::impl::GenericDict& state, const std::string& path) {
  scale_ = real_entry(state, "scale", path);
  clean_steps_ = int_entry(state, "clean_steps", path);
}

}  // namespace augcore::train

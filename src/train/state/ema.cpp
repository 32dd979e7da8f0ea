#include "augcore/train/state/ema.h"

#include <ATen/ATen.h>

#include "augcore/core/error.h"
#include "augcore/models/state_dict.h"

namespace augcore::train {

ModelEma::ModelEma(std::shared_ptr<torch::nn::Module> shadow, const torch::nn::Module& source,
                   double decay)
    : shadow_(std::move(shadow)), decay_(decay) {
  at::NoGradGuard no_grad;
  const auto from = models::state_dict(source);
  const auto to = models::state_dict(*shadow_);
  for (std::size_t i = 0; i < to.size(); ++i)
    to[i].second.copy_(from[i].second);
  shadow_->eval();
}

void ModelEma::update(const torch::nn::Module& model) {
  at::NoGradGuard no_grad;
  const auto from = models::state_dict(model);
  const auto to = models::state_dict(*shadow_);
  for (std::size_t i = 0; i < to.size(); ++i) {
    at::Tensor t = to[i].second;
    const at::Tensor& s = from[i].second;
    if (t.is_floating_point()) {
      t.mul_(decay_).add_(s.detach(), 1.0 - decay_);
    } else {
      t.copy_(s);
    }
  }
}

c10::impl::GenericDict ModelEma::state_dict() const {
  return models::state_dict_ivalue(*shadow_);
}

void ModelEma::load_state_dict(const c10::impl::GenericDict& state, const std::string& path) {
  const auto r = models::load_state_dict(*shadow_, state, true);
  if (!r.ok()) throw DataError(path + ": EMA weights do not fit: " + r.describe());
}

}  // namespace augcore::train

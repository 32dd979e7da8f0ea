#include "augcore/train/state/lamb.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

#include "augcore/core/torch_compat.h"

namespace augcore::train {

LambOptions::LambOptions(double lr) : lr_(lr) {}

Lamb::Lamb(std::vector<torch::optim::OptimizerParamGroup> param_groups, LambOptions defaults)
    : torch::optim::Optimizer(std::move(param_groups),
                              std::make_unique<LambOptions>(std::move(defaults))) {}

at::Tensor Lamb::clip_divisor() const {
  const double max_norm = static_cast<const LambOptions&>(*defaults_).max_grad_norm();
  if (max_norm <= 0) return {};
  std::vector<at::Tensor> norms;
  for (const auto& group : param_groups_) {
    for (const auto& p : group.params()) {
      if (p.grad().defined()) norms.push_back(p.grad().norm());
    }
  }
  if (norms.empty()) return {};
  return (at::stack(norms).norm() / max_norm).clamp_min(1.0);
}

at::Tensor Lamb::step(LossClosure closure) {
  at::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  const at::Tensor clip = clip_divisor();
  for (auto& group : param_groups_) {
    auto& o = static_cast<LambOptions&>(group.options());
    o.step(o.step() + 1);
    const auto step = static_cast<double>(o.step());
    const double beta1 = std::get<0>(o.betas());
    const double beta2 = std::get<1>(o.betas());
    const double beta3 = o.grad_averaging() ? 1 - beta1 : 1.0;
    const double bc1 = o.bias_correction() ? 1 - std::pow(beta1, step) : 1.0;
    const double bc2 = o.bias_correction() ? 1 - std::pow(beta2, step) : 1.0;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const at::Tensor grad = clip.defined() ? p.grad() / clip : p.grad();
      auto& slot = state_[compat::optimizer_state_key(p)];
      if (!slot) {
        auto fresh = std::make_unique<LambParamState>();
        fresh->exp_avg(at::zeros_like(p));
        fresh->exp_avg_sq(at::zeros_like(p));
        slot = std::move(fresh);
      }
      auto& s = static_cast<LambParamState&>(*slot);
      if (o.grad_averaging()) {
        s.exp_avg().lerp_(grad, beta3);
      } else {
        s.exp_avg().mul_(beta1).add_(grad, beta3);
      }
      s.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const at::Tensor denom = (s.exp_avg_sq().sqrt() / std::sqrt(bc2)).add_(o.eps());
      at::Tensor update = (s.exp_avg() / bc1).div_(denom);
      if (o.weight_decay() != 0) update.add_(p, o.weight_decay());
      if (o.weight_decay() != 0 || o.always_adapt()) {
        const at::Tensor w_norm = p.norm();
        const at::Tensor u_norm = update.norm();
        at::Tensor ratio = at::where(at::logical_and(w_norm > 0, u_norm > 0), w_norm / u_norm,
                                     at::ones_like(w_norm));
        if (o.trust_clip()) ratio = ratio.clamp_max(1.0);
        update.mul_(ratio);
      }
      p.add_(update, -o.lr());
    }
  }
  return loss;
}

}  // namespace augcore::train

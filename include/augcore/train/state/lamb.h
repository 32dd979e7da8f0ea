// LAMB (You et al. 2019) with timm's semantics: global gradient-norm clipping, bias
// correction, L2 weight decay folded into the update, and the trust ratio ‖w‖/‖update‖ applied
// only where weight decay is (always_adapt off).
#pragma once

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include <tuple>
#include <vector>

namespace augcore::train {

struct LambOptions : public torch::optim::OptimizerCloneableOptions<LambOptions> {
  LambOptions(double lr = 1e-3);  // NOLINT(google-explicit-constructor): as torch's options
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(bool, bias_correction) = true;
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(double, weight_decay) = 0.01;
  // m ← β1·m + (1−β1)·g when set, m ← β1·m + g otherwise.
  TORCH_ARG(bool, grad_averaging) = true;
  // Gradients are divided by max(‖g‖/max_grad_norm, 1), ‖g‖ over every group; 0 = off. Read
  // from the optimizer's defaults, as timm does.
  TORCH_ARG(double, max_grad_norm) = 1.0;
  // LAMBC: the trust ratio is clamped to at most 1.
  TORCH_ARG(bool, trust_clip) = false;
  // Apply the trust ratio to parameters without weight decay too.
  TORCH_ARG(bool, always_adapt) = false;
  // Steps this group has taken (timm keeps the count per group).
  TORCH_ARG(std::int64_t, step) = 0;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct LambParamState : public torch::optim::OptimizerCloneableParamState<LambParamState> {
  TORCH_ARG(at::Tensor, exp_avg);
  TORCH_ARG(at::Tensor, exp_avg_sq);
};

class Lamb : public torch::optim::Optimizer {
 public:
  explicit Lamb(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                LambOptions defaults = {});
  explicit Lamb(std::vector<at::Tensor> params, LambOptions defaults = {})
      : Lamb({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}
  at::Tensor step(LossClosure closure = nullptr) override;

 private:
  // max(‖all gradients‖ / max_grad_norm, 1); undefined when clipping is off or there are none.
  at::Tensor clip_divisor() const;
};

}  // namespace augcore::train

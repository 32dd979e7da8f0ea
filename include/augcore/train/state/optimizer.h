// Parameter groups for optimizers, with layer-wise learning-rate decay, per-step learning
// rates and optimizer state that round-trips through checkpoints (PyTorch's layout).
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace augcore::train {

// One parameter group: whether weight decay applies and the group's share of the scheduled
// learning rate.
struct ParamGroup {
  std::vector<std::string> names;
  std::vector<at::Tensor> params;
  bool decay = true;
  double lr_scale = 1.0;
};

// Parameters grouped as timm's param_groups_layer_decay does, in order of first appearance.
// Without weight decay when `exclude_bias_norm` is set: every tensor with ≤ 1 dimension and
// every name ending in pos_embed / cls_token / mask_token / relative_position_bias_table (timm's,
// MAE's and Swin's lists). With
// `layer_decay` < 1 the model must have layer ids (ClassifierImpl::layer_id); a parameter with
// id i of n gets lr scale layer_decay^(n − 1 − i) (BEiT/MAE).
std::vector<ParamGroup> param_groups(const torch::nn::Module& model, bool exclude_bias_norm,
                                     double layer_decay = 1.0);

// Options of torch's optimizers that also carry their group's learning-rate scale.
struct LrScale {
  virtual ~LrScale() = default;
  double lr_scale = 1.0;
};
template <class Options>
struct ScaledOptions : Options, LrScale {
  ScaledOptions(const Options& base, double scale) : Options(base) { lr_scale = scale; }
  std::unique_ptr<torch::optim::OptimizerOptions> clone() const override {
    return std::make_unique<ScaledOptions>(*this);
  }
};

// Torch's parameter groups for `groups`: each a copy of `base` (torch's SGDOptions,
// AdamWOptions or LambOptions) with `weight_decay` where the group decays (0 elsewhere) and the
// group's share of the rate, carried by ScaledOptions so that set_lr keeps it.
template <class Options>
std::vector<torch::optim::OptimizerParamGroup> torch_param_groups(
    const std::vector<ParamGroup>& groups, const Options& base, double weight_decay) {
  std::vector<torch::optim::OptimizerParamGroup> out;
  for (const auto& g : groups) {
    Options o = base;
    o.weight_decay(g.decay ? weight_decay : 0.0);
    o.lr(base.lr() * g.lr_scale);
    out.emplace_back(g.params, std::make_unique<ScaledOptions<Options>>(o, g.lr_scale));
  }
  return out;
}

// Sets the learning rate of every parameter group: `lr` × the group's scale.
void set_lr(torch::optim::Optimizer& optimizer, double lr);

// Optimizer state as PyTorch lays it out: {"state": {index: {...}}, "param_groups": [...]},
// parameters numbered in group order.
c10::IValue optimizer_state(const torch::optim::Optimizer& optimizer);
// Restores what optimizer_state saved for an optimizer over the same parameters.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const c10::IValue& state);

}  // namespace augcore::train

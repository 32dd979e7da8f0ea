// Optimizers (sgd, adamw) built from a recipe, with per-step learning rates and state that
// round-trips through checkpoints.
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>

#include "augcore/config/config.h"

namespace augcore::train {

// Parameters split by whether weight decay applies (biases, norms, position embeddings and
// tokens are excluded when `no_decay_bias_norm` is set: every tensor with ≤ 1 dimension and
// every name ending in pos_embed / cls_token / mask_token).
struct ParamGroups {
  std::vector<at::Tensor> decay;
  std::vector<at::Tensor> no_decay;
};
ParamGroups split_params(const torch::nn::Module& model, bool exclude_bias_norm);

// The factory signature of registered optimizers (kind "optimizer"); `lr` is the initial rate.
using OptimizerFactory = std::function<std::unique_ptr<torch::optim::Optimizer>(
    const config::Options&, const ParamGroups&, double lr)>;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::ComponentConfig& component,
                                                        const torch::nn::Module& model, double lr);

// Sets the learning rate of every parameter group.
void set_lr(torch::optim::Optimizer& optimizer, double lr);

// Optimizer state as PyTorch lays it out: {"state": {index: {...}}, "param_groups": [...]},
// parameters numbered in group order.
c10::IValue optimizer_state(const torch::optim::Optimizer& optimizer);
// Restores what optimizer_state saved for an optimizer over the same parameters.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const c10::IValue& state);

}  // namespace augcore::train

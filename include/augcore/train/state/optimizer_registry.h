// Recipe `optimizer` component → torch optimizer: the factory signature of the registered
// optimizers (sgd, adamw, lamb) and the function that builds one over a model's param_groups.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <vector>

#include "augcore/config/config.h"
#include "augcore/train/state/optimizer.h"

namespace augcore::train {

// The factory signature of registered optimizers (kind "optimizer"); `lr` is the initial rate.
using OptimizerFactory = std::function<std::unique_ptr<torch::optim::Optimizer>(
    const config::Options&, const std::vector<ParamGroup>&, double lr)>;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::ComponentConfig& component,
                                                        const torch::nn::Module& model, double lr);

}  // namespace augcore::train

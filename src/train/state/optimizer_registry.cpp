// The registered `optimizer` components (sgd, adamw, lamb): recipe options turned into torch's
// optimizers (or augcore's LAMB) over param_groups.
#include "augcore/train/state/optimizer_registry.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "augcore/core/error.h"
#include "augcore/train/state/lamb.h"

namespace augcore::train {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::ComponentConfig& component,
                                                        const torch::nn::Module& model, double lr) {
  const config::Options o = component.options();
  const auto groups = param_groups(model, o.boolean("no_decay_bias_norm"), o.real("layer_decay"));
  const auto& factory =
      config::Registry::global().factory<OptimizerFactory>("optimizer", component.name);
  return factory(o, groups, lr);
}

namespace {

void add_common(config::Schema& s, double wd) {
  s.add_float("weight_decay", wd, "L2 weight decay (decoupled for adamw)").range(0, 10);
  s.add_bool("no_decay_bias_norm", true,
             "no weight decay on biases, norm weights, position embeddings and tokens");
  s.add_float("layer_decay", 1.0,
              "layer-wise lr decay (BEiT/MAE): block i of L trains at decay^(L - i) of the lr; "
              "1 = off; ViTs and Swin")
      .range(0.01, 1);
}

config::Schema sgd_options() {
  config::Schema s;
  s.add_float("momentum", 0.9, "momentum").range(0, 1);
  s.add_bool("nesterov", false, "Nesterov momentum");
  add_common(s, 5e-4);
  return s;
}

config::Schema adamw_options() {
  config::Schema s;
  s.add_floats("betas", {0.9, 0.999}, "Adam betas").items(2, 2).range(0, 1);
  s.add_float("eps", 1e-8, "denominator epsilon").range(0, 1);
  add_common(s, 0.05);
  return s;
}

config::Schema lamb_options() {
  config::Schema s;
  s.add_floats("betas", {0.9, 0.999}, "Adam betas").items(2, 2).range(0, 1);
  s.add_float("eps", 1e-6, "denominator epsilon").range(0, 1);
  s.add_float("max_grad_norm", 1.0, "global gradient-norm clipping inside lamb; 0 = off")
      .range(0, 1e9);
  s.add_bool("trust_clip", false, "LAMBC: clamp the trust ratio at 1");
  s.add_bool("always_adapt", false, "apply the trust ratio to parameters without weight decay");
  add_common(s, 0.01);
  return s;
}

const bool registered =
    config::register_component(
        "optimizer", "sgd", "stochastic gradient descent with momentum", sgd_options(),
        OptimizerFactory([](const config::Options& o, const std::vector<ParamGroup>& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          torch::optim::SGDOptions base(lr);
          base.momentum(o.real("momentum")).nesterov(o.boolean("nesterov"));
          if (o.boolean("nesterov") && o.real("momentum") <= 0) {
            throw ConfigError(o.path() + ".nesterov: needs momentum > 0");
          }
          return std::make_unique<torch::optim::SGD>(
              torch_param_groups(g, base, o.real("weight_decay")), base);
        })) &&
    config::register_component(
        "optimizer", "adamw", "Adam with decoupled weight decay", adamw_options(),
        OptimizerFactory([](const config::Options& o, const std::vector<ParamGroup>& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          const auto betas = o.reals("betas");
          torch::optim::AdamWOptions base(lr);
          base.betas({betas[0], betas[1]}).eps(o.real("eps"));
          return std::make_unique<torch::optim::AdamW>(
              torch_param_groups(g, base, o.real("weight_decay")), base);
        })) &&
    config::register_component(
        "optimizer", "lamb", "LAMB, layer-wise adaptive moments (timm's semantics)", lamb_options(),
        OptimizerFactory([](const config::Options& o, const std::vector<ParamGroup>& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          const auto betas = o.reals("betas");
          LambOptions base(lr);
          base.betas({betas[0], betas[1]})
              .eps(o.real("eps"))
              .max_grad_norm(o.real("max_grad_norm"))
              .trust_clip(o.boolean("trust_clip"))
              .always_adapt(o.boolean("always_adapt"));
          return std::make_unique<Lamb>(torch_param_groups(g, base, o.real("weight_decay")), base);
        }));

}  // namespace
}  // namespace augcore::train

#include "augcore/train/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/torch_compat.h"

namespace augcore::train {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

ParamGroups split_params(const torch::nn::Module& model, bool exclude_bias_norm) {
  ParamGroups g;
  for (const auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    const bool no_decay =
        exclude_bias_norm && (p.value().dim() <= 1 || ends_with(name, "pos_embed") ||
                              ends_with(name, "cls_token") || ends_with(name, "mask_token"));
    (no_decay ? g.no_decay : g.decay).push_back(p.value());
  }
  return g;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::ComponentConfig& component,
                                                        const torch::nn::Module& model, double lr) {
  const config::Options o = component.options();
  const ParamGroups groups = split_params(model, o.boolean("no_decay_bias_norm"));
  const auto& factory =
      config::Registry::global().factory<OptimizerFactory>("optimizer", component.name);
  return factory(o, groups, lr);
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    group.options().set_lr(lr);
}

c10::IValue optimizer_state(const torch::optim::Optimizer& optimizer) {
  auto state = pth::new_dict();
  c10::impl::GenericList groups(c10::AnyType::get());
  std::int64_t index = 0;
  for (const auto& group : optimizer.param_groups()) {
    auto g = pth::new_dict();
    g.insert("lr", group.options().get_lr());
    c10::impl::GenericList params(c10::AnyType::get());
    for (const auto& p : group.params()) {
      params.push_back(index);
      const auto it = optimizer.state().find(compat::optimizer_state_key(p));
      if (it != optimizer.state().end()) {
        auto s = pth::new_dict();
        if (const auto* sgd = dynamic_cast<const torch::optim::SGDParamState*>(it->second.get())) {
          s.insert("momentum_buffer", sgd->momentum_buffer());
        } else if (const auto* adam =
                       dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get())) {
          s.insert("step", at::scalar_tensor(static_cast<double>(adam->step())));
          s.insert("exp_avg", adam->exp_avg());
          s.insert("exp_avg_sq", adam->exp_avg_sq());
        }
        state.insert(index, s);
      }
      ++index;
    }
    g.insert("params", params);
    groups.push_back(g);
  }
  auto out = pth::new_dict();
  out.insert("state", state);
  out.insert("param_groups", groups);
  return out;
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const c10::IValue& saved) {
  if (!saved.isGenericDict()) throw DataError("checkpoint: optimizer state is not a dict");
  const auto dict = saved.toGenericDict();
  if (!dict.contains("state") || !dict.at("state").isGenericDict()) {
    throw DataError("checkpoint: optimizer state has no 'state' entry");
  }
  const auto state = dict.at("state").toGenericDict();
  std::int64_t index = 0;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      const auto it = state.find(index++);
      if (it == state.end()) continue;
      if (!it->value().isGenericDict()) {
        throw DataError("checkpoint: optimizer state of parameter " + std::to_string(index - 1) +
                        " is not a dict");
      }
      const auto s = it->value().toGenericDict();
      auto check = [&](const char* name) {
        if (!s.contains(name) || !s.at(name).isTensor() ||
            s.at(name).toTensor().sizes() != p.sizes()) {
          throw DataError(std::string("checkpoint: optimizer state '") + name +
                          "' does not fit parameter " + std::to_string(index - 1));
        }
        return s.at(name).toTensor().to(p.device()).clone();
      };
      if (dynamic_cast<torch::optim::SGD*>(&optimizer)) {
        auto ps = std::make_unique<torch::optim::SGDParamState>();
        ps->momentum_buffer(check("momentum_buffer"));
        optimizer.state()[compat::optimizer_state_key(p)] = std::move(ps);
      } else if (dynamic_cast<torch::optim::AdamW*>(&optimizer)) {
        auto ps = std::make_unique<torch::optim::AdamWParamState>();
        if (!s.contains("step") || !s.at("step").isTensor() ||
            s.at("step").toTensor().numel() != 1) {
          throw DataError("checkpoint: optimizer state 'step' of parameter " +
                          std::to_string(index - 1) + " is not a number");
        }
        ps->step(static_cast<std::int64_t>(s.at("step").toTensor().item<double>()));
        ps->exp_avg(check("exp_avg"));
        ps->exp_avg_sq(check("exp_avg_sq"));
        optimizer.state()[compat::optimizer_state_key(p)] = std::move(ps);
      }
    }
  }
  if (index != static_cast<std::int64_t>(state.size()) && state.size() > 0) {
    std::int64_t max_saved = 0;
    for (const auto& kv : state) {
      if (!kv.key().isInt()) throw DataError("checkpoint: optimizer state keys are not indices");
      max_saved = std::max(max_saved, kv.key().toInt());
    }
    if (max_saved >= index) throw DataError("checkpoint: optimizer state is for more parameters");
  }
}

namespace {

void add_common(config::Schema& s, double wd) {
  s.add_float("weight_decay", wd, "L2 weight decay (decoupled for adamw)").range(0, 10);
  s.add_bool("no_decay_bias_norm", true,
             "no weight decay on biases, norm weights, position embeddings and tokens");
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

template <class Options>
std::vector<torch::optim::OptimizerParamGroup> groups_of(const ParamGroups& g, const Options& base,
                                                         double wd) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!g.decay.empty()) {
    auto o = std::make_unique<Options>(base);
    o->weight_decay(wd);
    groups.emplace_back(g.decay, std::move(o));
  }
  if (!g.no_decay.empty()) {
    auto o = std::make_unique<Options>(base);
    o->weight_decay(0.0);
    groups.emplace_back(g.no_decay, std::move(o));
  }
  return groups;
}

const bool registered =
    config::register_component(
        "optimizer", "sgd", "stochastic gradient descent with momentum", sgd_options(),
        OptimizerFactory([](const config::Options& o, const ParamGroups& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          torch::optim::SGDOptions base(lr);
          base.momentum(o.real("momentum")).nesterov(o.boolean("nesterov"));
          if (o.boolean("nesterov") && o.real("momentum") <= 0) {
            throw ConfigError(o.path() + ".nesterov: needs momentum > 0");
          }
          return std::make_unique<torch::optim::SGD>(groups_of(g, base, o.real("weight_decay")),
                                                     base);
        })) &&
    config::register_component(
        "optimizer", "adamw", "Adam with decoupled weight decay", adamw_options(),
        OptimizerFactory([](const config::Options& o, const ParamGroups& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          const auto betas = o.reals("betas");
          torch::optim::AdamWOptions base(lr);
          base.betas({betas[0], betas[1]}).eps(o.real("eps"));
          return std::make_unique<torch::optim::AdamW>(groups_of(g, base, o.real("weight_decay")),
                                                       base);
        }));

}  // namespace
}  // namespace augcore::train

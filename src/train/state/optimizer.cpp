#include "augcore/train/state/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/torch_compat.h"
#include "augcore/models/classifier.h"
#include "augcore/train/state/lamb.h"

#include <cmath>
#include <map>

namespace augcore::train {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// LAMB counts steps per group ("step" in each saved param group).
void load_group_steps(torch::optim::Optimizer& optimizer, const c10::impl::GenericDict& saved) {
  const auto groups = saved.contains("param_groups") ? saved.at("param_groups") : c10::IValue();
  if (!groups.isList() || groups.toList().size() != optimizer.param_groups().size()) {
    throw DataError("checkpoint: optimizer state has other parameter groups than this lamb");
  }
  for (std::size_t i = 0; i < groups.toList().size(); ++i) {
    const c10::IValue g = groups.toList().get(i);
    if (!g.isGenericDict() || !g.toGenericDict().contains("step") ||
        !g.toGenericDict().at("step").isTensor()) {
      throw DataError("checkpoint: lamb parameter group " + std::to_string(i) + " has no step");
    }
    static_cast<LambOptions&>(optimizer.param_groups()[i].options())
        .step(static_cast<std::int64_t>(g.toGenericDict().at("step").toTensor().item<double>()));
  }
}

}  // namespace

std::vector<ParamGroup> param_groups(const torch::nn::Module& model, bool exclude_bias_norm,
                                     double layer_decay) {
  const auto* ids = dynamic_cast<const models::ClassifierImpl*>(&model);
  const bool by_layer = layer_decay != 1.0;
  if (by_layer && (!ids || ids->num_layer_ids() == 0)) {
    throw ConfigError("optimizer.layer_decay: the model has no layer ids (ViTs and Swin do)");
  }
  std::vector<ParamGroup> groups;
  std::map<std::pair<std::int64_t, bool>, std::size_t> index;
  for (const auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    const bool no_decay =
        exclude_bias_norm &&
        (p.value().dim() <= 1 || ends_with(name, "pos_embed") || ends_with(name, "cls_token") ||
         ends_with(name, "mask_token") || ends_with(name, "relative_position_bias_table"));
    const std::int64_t id = by_layer ? ids->layer_id(name) : 0;
    const auto key = std::make_pair(id, !no_decay);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      ParamGroup g;
      g.decay = !no_decay;
      g.lr_scale = by_layer ? std::pow(layer_decay, ids->num_layer_ids() - 1 - id) : 1.0;
      groups.push_back(std::move(g));
    }
    groups[it->second].names.push_back(name);
    groups[it->second].params.push_back(p.value());
  }
  return groups;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::ComponentConfig& component,
                                                        const torch::nn::Module& model, double lr) {
  const config::Options o = component.options();
  const auto groups = param_groups(model, o.boolean("no_decay_bias_norm"), o.real("layer_decay"));
  const auto& factory =
      config::Registry::global().factory<OptimizerFactory>("optimizer", component.name);
  return factory(o, groups, lr);
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    const auto* scale = dynamic_cast<const LrScale*>(&group.options());
    group.options().set_lr(scale ? lr * scale->lr_scale : lr);
  }
}

c10::IValue optimizer_state(const torch::optim::Optimizer& optimizer) {
  auto state = pth::new_dict();
  c10::impl::GenericList groups(c10::AnyType::get());
  std::int64_t index = 0;
  for (const auto& group : optimizer.param_groups()) {
    auto g = pth::new_dict();
    g.insert("lr", group.options().get_lr());
    if (const auto* lamb = dynamic_cast<const LambOptions*>(&group.options())) {
      g.insert("step", at::scalar_tensor(static_cast<double>(lamb->step())));
    }
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
        } else if (const auto* lamb = dynamic_cast<const LambParamState*>(it->second.get())) {
          s.insert("exp_avg", lamb->exp_avg());
          s.insert("exp_avg_sq", lamb->exp_avg_sq());
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
  if (dynamic_cast<Lamb*>(&optimizer)) load_group_steps(optimizer, dict);
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
      } else if (dynamic_cast<Lamb*>(&optimizer)) {
        auto ps = std::make_unique<LambParamState>();
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

// Torch's parameter groups, each with its weight decay and learning-rate scale.
template <class Options>
std::vector<torch::optim::OptimizerParamGroup> groups_of(const std::vector<ParamGroup>& groups,
                                                         const Options& base, double wd) {
  std::vector<torch::optim::OptimizerParamGroup> out;
  for (const auto& g : groups) {
    Options o = base;
    o.weight_decay(g.decay ? wd : 0.0);
    o.lr(base.lr() * g.lr_scale);
    out.emplace_back(g.params, std::make_unique<ScaledOptions<Options>>(o, g.lr_scale));
  }
  return out;
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
          return std::make_unique<torch::optim::SGD>(groups_of(g, base, o.real("weight_decay")),
                                                     base);
        })) &&
    config::register_component(
        "optimizer", "adamw", "Adam with decoupled weight decay", adamw_options(),
        OptimizerFactory([](const config::Options& o, const std::vector<ParamGroup>& g,
                            double lr) -> std::unique_ptr<torch::optim::Optimizer> {
          const auto betas = o.reals("betas");
          torch::optim::AdamWOptions base(lr);
          base.betas({betas[0], betas[1]}).eps(o.real("eps"));
          return std::make_unique<torch::optim::AdamW>(groups_of(g, base, o.real("weight_decay")),
                                                       base);
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
          return std::make_unique<Lamb>(groups_of(g, base, o.real("weight_decay")), base);
        }));

}  // namespace
}  // namespace augcore::train

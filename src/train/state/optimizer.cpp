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

}  // namespace augcore::train

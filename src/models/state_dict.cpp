#include "augcore/models/state_dict.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <map>
#include <set>
#include <sstream>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"

namespace augcore::models {
namespace {

std::string shape(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < sizes.size(); ++i)
    s << (i ? ", " : "") << sizes[i];
  s << "]";
  return s.str();
}

std::string join_quoted(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items)
    s += (s.empty() ? "\"" : ", \"") + i + "\"";
  return s;
}

bool has_prefix(const std::string& key, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (key == p || key.rfind(p + ".", 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> state_dict(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      out.emplace_back(prefix + p.key(), p.value());
    }
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) {
      out.emplace_back(prefix + b.key(), b.value());
    }
  }
  return out;
}

c10::impl::GenericDict state_dict_ivalue(const torch::nn::Module& module) {
  auto dict = pth::new_dict();
  for (const auto& [name, t] : state_dict(module))
    dict.insert(name, t.detach().to(at::kCPU));
  return dict;
}

std::string LoadReport::describe() const {
  std::string s;
  if (!missing.empty()) s += "Missing key(s) in state_dict: " + join_quoted(missing) + ". ";
  if (!unexpected.empty()) {
    s += "Unexpected key(s) in state_dict: " + join_quoted(unexpected) + ". ";
  }
  for (const auto& m : mismatched)
    s += "size mismatch for " + m + ". ";
  if (!s.empty()) s.pop_back();
  return s;
}

LoadReport load_state_dict(torch::nn::Module& module, const c10::impl::GenericDict& dict,
                           bool strict, const std::vector<std::string>& ignore_prefixes) {
  LoadReport report;
  const auto own = state_dict(module);
  std::set<std::string> own_names;
  for (const auto& [name, t] : own)
    own_names.insert(name);
  std::map<std::string, at::Tensor> given;
  for (const auto& kv : dict) {
    if (!kv.key().isString()) continue;
    const std::string key = kv.key().toStringRef();
    if (has_prefix(key, ignore_prefixes)) {
      report.ignored.push_back(key);
      continue;
    }
    if (!kv.value().isTensor() || !own_names.count(key)) {
      report.unexpected.push_back(key);
      continue;
    }
    given[key] = kv.value().toTensor();
  }
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& [name, target] : own) {
    if (has_prefix(name, ignore_prefixes)) continue;
    const auto it = given.find(name);
    if (it == given.end()) {
      report.missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      report.mismatched.push_back(
          name + ": copying a param with shape " + shape(it->second.sizes()) +
          " from checkpoint, the shape in current model is " + shape(target.sizes()));
    } else {
      copies.emplace_back(target, it->second);
    }
  }
  if (strict && !report.ok()) return report;
  at::NoGradGuard no_grad;
  for (auto& [target, source] : copies)
    target.copy_(source.to(target.dtype()));
  return report;
}

c10::impl::GenericDict find_state_dict(const c10::IValue& payload, const std::string& source) {
  if (!payload.isGenericDict()) {
    throw DataError(source + ": expected a state_dict (a dict of tensors), found a " +
                    payload.tagKind());
  }
  const auto dict = payload.toGenericDict();
  for (const char* key : {"model", "state_dict", "model_state"}) {
    const auto it = dict.find(std::string(key));
    if (it != dict.end() && it->value().isGenericDict()) return it->value().toGenericDict();
  }
  for (const auto& kv : dict) {
    if (kv.value().isTensor()) return dict;
  }
  throw DataError(source + ": holds no tensors, nor a 'model' or 'state_dict' entry");
}

}  // namespace augcore::models

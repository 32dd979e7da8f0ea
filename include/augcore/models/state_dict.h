// PyTorch-style state dicts of modules: export in PyTorch's order, strict loading with reports.
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace augcore::models {

// Parameters and buffers by dotted name, in PyTorch's state_dict order (per module: its
// parameters, then its buffers, then its children).
std::vector<std::pair<std::string, at::Tensor>> state_dict(const torch::nn::Module& module);
// The same as a GenericDict of detached CPU tensors, ready for pth::save.
c10::impl::GenericDict state_dict_ivalue(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]"
  std::vector<std::string> ignored;     // keys skipped on purpose (e.g. the head)
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // PyTorch's wording: "Missing key(s) in state_dict: ...", ...
  std::string describe() const;
};

// Copies matching tensors from `dict` (string keys → tensors) into the module, skipping keys
// that start with one of `ignore_prefixes` (and the model's own keys under them). Nothing is
// copied unless the whole load would succeed when `strict` is set.
LoadReport load_state_dict(torch::nn::Module& module, const c10::impl::GenericDict& dict,
                           bool strict, const std::vector<std::string>& ignore_prefixes = {});

// The state dict inside a torch.save payload: the payload itself, or its "model",
// "state_dict" or "model_state" entry. Throws DataError naming `source` otherwise.
c10::impl::GenericDict find_state_dict(const c10::IValue& payload, const std::string& source);

}  // namespace augcore::models

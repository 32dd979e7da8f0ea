// Exponential moving average of a model's weights, evaluated as a model of its own.
#pragma once

#include <ATen/core/Dict.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>

namespace augcore::train {

class ModelEma {
 public:
  // `shadow` is a second instance of the same architecture; it starts as a copy of `source`.
  ModelEma(std::shared_ptr<torch::nn::Module> shadow, const torch::nn::Module& source,
           double decay);
  // shadow = decay·shadow + (1-decay)·model for floating-point parameters and buffers;
  // integer buffers (BN batch counters) are copied.
  void update(const torch::nn::Module& model);
  torch::nn::Module& model() { return *shadow_; }

  // The averaged weights as a state dict, and back (DataError naming `path` when they do not
  // fit).
  c10::impl::GenericDict state_dict() const;
  void load_state_dict(const c10::impl::GenericDict& state, const std::string& path);

 private:
  std::shared_ptr<torch::nn::Module> shadow_;
  double decay_;
};

}  // namespace augcore::train

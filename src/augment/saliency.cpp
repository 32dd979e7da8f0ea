#include "augcore/augment/saliency.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <stdexcept>

namespace augcore::augment {

SaliencyMethod parse_saliency_method(const std::string& name) {
  if (name == "full") return SaliencyMethod::kFull;
  if (name == "low_res") return SaliencyMethod::kLowRes;
  if (name == "early_head") return SaliencyMethod::kEarlyHead;
  throw std::invalid_argument("unknown saliency method '" + name + "'");
}

namespace {

// Restores the model's train/eval mode on scope exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(models::ClassifierImpl& model)
      : model_(model), was_training_(model.is_training()) {
    model_.eval();
  }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  models::ClassifierImpl& model_;
  bool was_training_;
};

at::Tensor gradient_map(models::ClassifierImpl& model, const at::Tensor& pixels,
                        const at::Tensor& targets, const at::Tensor& mean, const at::Tensor& std,
                        bool early) {
  at::AutoGradMode grad_mode(true);
  const at::Tensor x = ((pixels - mean) / std).detach().requires_grad_(true);
  const at::Tensor logits = early ? model.early_logits(x) : model.forward(x);
  at::Tensor labels;
  if (!targets.defined()) {
    labels = logits.detach().argmax(1);
  } else {
    labels = targets.dim() == 1 ? targets : targets.argmax(1);
  }
  const at::Tensor picked = logits.gather(1, labels.to(logits.device()).view({-1, 1})).sum();
  // Gradient with respect to the input only: parameters' .grad are never touched.
  const at::Tensor grad = torch::autograd::grad({picked}, {x}, {}, false, false).at(0);
  return grad.abs().amax(1);
}

}  // namespace

at::Tensor saliency_map(models::ClassifierImpl& model, const at::Tensor& pixels,
                        const at::Tensor& targets, const at::Tensor& mean, const at::Tensor& std,
                        SaliencyMethod method) {
  EvalModeGuard eval(model);
  switch (method) {
    case SaliencyMethod::kFull:
      return gradient_map(model, pixels, targets, mean, std, false);
    case SaliencyMethod::kEarlyHead:
      return gradient_map(model, pixels, targets, mean, std, true);
    case SaliencyMethod::kLowRes:
      break;
  }
  const auto h = pixels.size(2), w = pixels.size(3);
  const at::Tensor small = at::upsample_bicubic2d(
      pixels, {std::max<std::int64_t>(h / 2, 1), std::max<std::int64_t>(w / 2, 1)}, false);
  const at::Tensor map = gradient_map(model, small, targets, mean, std, false);
  return at::upsample_bicubic2d(map.unsqueeze(1), {h, w}, false).squeeze(1).clamp_min_(0);
}

}  // namespace augcore::augment

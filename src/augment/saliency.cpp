#include "augcore/augment/saliency.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <fmt/core.h>

#include "augcore/augment/batch.h"
#include "augcore/core/error.h"

namespace augcore::augment {
namespace {

// Restores a module's train/eval mode on scope exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& module)
      : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

at::Tensor gradient_map(const LogitsFn& logits_of, const at::Tensor& pixels,
                        const at::Tensor& targets, const at::Tensor& mean, const at::Tensor& std) {
  at::AutoGradMode grad_mode(true);
  const at::Tensor x = ((pixels - mean) / std).detach().requires_grad_(true);
  const at::Tensor logits = logits_of(x);
  if (!logits.defined() || logits.dim() != 2 || logits.size(0) != pixels.size(0)) {
    throw OptionError(
        "saliency", "logits",
        fmt::format("the model returned {} for {} images; expected N×K logits",
                    logits.defined() ? c10::str(logits.sizes()) : "nothing", pixels.size(0)));
  }
  at::Tensor labels;
  if (!targets.defined()) {
    labels = logits.detach().argmax(1);
  } else {
    check_targets(targets, pixels.size(0), "saliency");
    labels = targets.dim() == 1 ? targets : targets.argmax(1);
    const auto classes = logits.size(1);
    const auto lo = labels.min().item<std::int64_t>(), hi = labels.max().item<std::int64_t>();
    if (lo < 0 || hi >= classes || (targets.dim() == 2 && targets.size(1) != classes)) {
      throw OptionError(
          "saliency", "targets",
          targets.dim() == 2
              ? fmt::format("{} columns for the model's {} classes", targets.size(1), classes)
              : fmt::format("labels span [{}, {}], outside the model's [0, {})", lo, hi, classes));
    }
  }
  const at::Tensor picked = logits.gather(1, labels.to(logits.device()).view({-1, 1})).sum();
  // Gradient with respect to the input only: parameters' .grad are never touched.
  const at::Tensor grad = torch::autograd::grad({picked}, {x}, {}, false, false).at(0);
  return grad.abs().amax(1);
}

}  // namespace

at::Tensor saliency_map(const LogitsFn& logits, const at::Tensor& images, const at::Tensor& targets,
                        const SaliencyOptions& options) {
  check_images(images, "SaliencyOptions");
  const at::Tensor pixels = images.to(at::kFloat);
  const at::Tensor mean = channel_tensor(options.mean(), pixels, "SaliencyOptions", "mean");
  const at::Tensor std = channel_tensor(options.std(), pixels, "SaliencyOptions", "std");
  if (options.method() == SaliencyMethod::kFull) {
    return gradient_map(logits, pixels, targets, mean, std);
  }
  const auto h = pixels.size(2), w = pixels.size(3);
  const at::Tensor small = at::upsample_bicubic2d(
      pixels, {std::max<std::int64_t>(h / 2, 1), std::max<std::int64_t>(w / 2, 1)}, false);
  const at::Tensor map = gradient_map(logits, small, targets, mean, std);
  return at::upsample_bicubic2d(map.unsqueeze(1), {h, w}, false).squeeze(1).clamp_min_(0);
}

LogitsFn in_eval_mode(torch::nn::Module& module, LogitsFn forward) {
  return [&module, forward = std::move(forward)](const at::Tensor& x) {
    EvalModeGuard eval(module);
    return forward(x);
  };
}

LogitsFn in_eval_mode(std::shared_ptr<torch::nn::Module> module, LogitsFn forward) {
  return [module = std::move(module), forward = std::move(forward)](const at::Tensor& x) {
    EvalModeGuard eval(*module);
    return forward(x);
  };
}

SaliencyFn gradient_saliency(LogitsFn logits, SaliencyOptions options) {
  return [logits = std::move(logits), options = std::move(options)](const at::Tensor& pixels,
                                                                    const at::Tensor& targets) {
    return saliency_map(logits, pixels, targets, options);
  };
}

}  // namespace augcore::augment

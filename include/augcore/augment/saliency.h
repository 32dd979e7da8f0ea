// KeepAugment's saliency maps: the vanilla gradient of the label logit with respect to the
// (normalised) input, |·|, max over channels — for a whole batch in one backward pass, from any
// model given as a logits function.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace augcore::augment {

// A model as saliency sees it: logits N×K of a normalised input N×C×H×W.
using LogitsFn = std::function<at::Tensor(const at::Tensor& normalised)>;

// A saliency source for the Keep* policies: N×H×W importance of `pixels` (N×C×H×W in [0,1])
// for `targets` (int64 labels, soft N×K → argmax, undefined → the predicted class).
using SaliencyFn = std::function<at::Tensor(const at::Tensor& pixels, const at::Tensor& targets)>;

enum class SaliencyMethod {
  kFull,    // the model at full resolution
  kLowRes,  // the model on a ×0.5 bicubic copy, the map upsampled back (bicubic)
};

struct SaliencyOptions {
  // The model's input normalisation, in pixels (one value serves every channel).
  TORCH_ARG(std::vector<double>, mean) = {0.5};
  TORCH_ARG(std::vector<double>, std) = {0.5};
  TORCH_ARG(SaliencyMethod, method) = SaliencyMethod::kFull;
};

// The gradient saliency of `logits` for one batch: normalises `pixels` (in float32; run a
// reduced-precision model under autocast), takes the gradient of each image's label logit with
// respect to the input only (parameter gradients are never touched) and keeps no graph.
at::Tensor saliency_map(const LogitsFn& logits, const at::Tensor& pixels, const at::Tensor& targets,
                        const SaliencyOptions& options = {});

// `forward` run with `module` in eval mode, its train/eval mode restored afterwards (so
// BatchNorm statistics and dropout are untouched). `module` must outlive the function.
LogitsFn in_eval_mode(torch::nn::Module& module, LogitsFn forward);

// The same for a module the function shares ownership of.
LogitsFn in_eval_mode(std::shared_ptr<torch::nn::Module> module, LogitsFn forward);

// A SaliencyFn from a logits function.
SaliencyFn gradient_saliency(LogitsFn logits, SaliencyOptions options = {});

// A SaliencyFn from a module holder whose forward(x) returns logits (e.g. a TORCH_MODULE of
// yours): runs it in eval mode and restores its mode.
template <typename Holder>
SaliencyFn gradient_saliency_of(Holder module, SaliencyOptions options = {}) {
  auto impl = module.ptr();
  LogitsFn forward = [impl](const at::Tensor& x) { return impl->forward(x); };
  return gradient_saliency(in_eval_mode(std::shared_ptr<torch::nn::Module>(impl), forward),
                           std::move(options));
}

}  // namespace augcore::augment

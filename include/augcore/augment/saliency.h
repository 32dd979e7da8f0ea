// KeepAugment's saliency maps: the vanilla gradient of the label logit with respect to the
// (normalised) input, |·|, max over channels — for a whole batch in one backward pass.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "augcore/models/classifier.h"

namespace augcore::augment {

enum class SaliencyMethod {
  kFull,       // the classifier at full resolution
  kLowRes,     // the classifier on a ×0.5 bicubic copy, the map upsampled back (bicubic)
  kEarlyHead,  // the model's early head: the backward crosses only the stem and first stage
};

SaliencyMethod parse_saliency_method(const std::string& name);

// N×H×W saliency of `pixels` (N×C×H×W in [0,1]) normalised by `mean`/`std` (1×C×1×1) for
// `targets` (int64 labels, soft N×K → argmax, undefined → the predicted class). Runs the
// model in eval mode and restores its mode: parameter gradients and BatchNorm statistics
// are left exactly as they were, and no graph is kept.
at::Tensor saliency_map(models::ClassifierImpl& model, const at::Tensor& pixels,
                        const at::Tensor& targets, const at::Tensor& mean, const at::Tensor& std,
                        SaliencyMethod method);

}  // namespace augcore::augment

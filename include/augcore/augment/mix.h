// Label-mixing batch policies: Mixup, CutMix, KeepCutMix and timm/DeiT's per-batch switch
// between Mixup and CutMix. Each image is mixed with its mirror in the batch (index N-1-i);
// targets become soft (smoothed one-hot by label_smoothing, then mixed by the actual lambda).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "augcore/augment/batch.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/regions.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

// One lambda for the whole batch (timm's "batch" mode), or one per image ("elem").
enum class MixMode { kBatch, kElem };

struct MixupOptions {
  explicit MixupOptions(std::int64_t num_classes) : num_classes_(num_classes) {}
  TORCH_ARG(std::int64_t, num_classes);
  // lambda ~ Beta(alpha, alpha).
  TORCH_ARG(double, alpha) = 1.0;
  // Probability of mixing (per batch, or per image in elem mode).
  TORCH_ARG(double, p) = 1.0;
  TORCH_ARG(MixMode, mode) = MixMode::kBatch;
  // Smoothing of the one-hot targets before they are mixed (the loss's label smoothing).
  TORCH_ARG(double, label_smoothing) = 0.0;
};

// CutMix takes the same options; lambda sets the box's area.
using CutMixOptions = MixupOptions;

// Mixup: image and target blended with the mirror image's by lambda.
class Mixup {
 public:
  explicit Mixup(MixupOptions options);
  // Lambda per image (float64 N on the CPU; 1 = untouched).
  at::Tensor sample(std::int64_t batch_size, at::Generator generator = {}) const;
  Batch apply(Batch batch, const at::Tensor& lambda) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;
  const MixupOptions& options() const { return options_; }

 private:
  MixupOptions options_;
};

// CutMix: a box of the mirror image pasted in; lambda from the box's clipped area.
class CutMix {
 public:
  explicit CutMix(CutMixOptions options);
  // The pasted boxes (empty where an image is not mixed).
  Boxes sample(const at::Tensor& images, at::Generator generator = {}) const;
  Batch apply(Batch batch, const Boxes& boxes) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;
  const CutMixOptions& options() const { return options_; }

 private:
  friend class KeepCutMix;
  friend class MixupOrCutMix;
  Boxes draw(const at::Tensor& images, const at::Tensor& lambda, const Keep* keep,
             const at::Tensor& saliency, at::Generator& generator) const;
  CutMixOptions options_;
};

// KeepCutMix: each box lands where the receiving image is unimportant (one box per image).
class KeepCutMix {
 public:
  KeepCutMix(CutMixOptions options, SaliencyFn saliency, KeepOptions keep = {});
  // `saliency`, when given, is used instead of the saliency source (N×H×W).
  Boxes sample(const at::Tensor& images, const at::Tensor& targets, at::Generator generator = {},
               const at::Tensor& saliency = {}) const;
  Batch apply(Batch batch, const Boxes& boxes) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;

 private:
  CutMix cutmix_;
  Keep keep_;
};

struct MixupOrCutMixOptions {
  explicit MixupOrCutMixOptions(std::int64_t num_classes) : num_classes_(num_classes) {}
  TORCH_ARG(std::int64_t, num_classes);
  TORCH_ARG(double, mixup_alpha) = 0.8;   // DeiT's
  TORCH_ARG(double, cutmix_alpha) = 1.0;  // DeiT's
  // Probability that a batch uses CutMix rather than Mixup.
  TORCH_ARG(double, switch_prob) = 0.5;
  // Probability of mixing a batch.
  TORCH_ARG(double, p) = 1.0;
  TORCH_ARG(double, label_smoothing) = 0.0;
};

// timm/DeiT's mixing: per batch, CutMix with probability switch_prob, else Mixup.
class MixupOrCutMix {
 public:
  explicit MixupOrCutMix(MixupOrCutMixOptions options);
  Batch operator()(Batch batch, at::Generator generator = {}) const;

 private:
  MixupOrCutMixOptions options_;
  Mixup mixup_;
  CutMix cutmix_;
};

// One-hot (with label smoothing s: 1-s+s/K on the label, s/K elsewhere) float N×K targets;
// soft targets pass through.
at::Tensor soft_targets(const at::Tensor& targets, std::int64_t num_classes, double smoothing);

// The CutMix box side for a lambda: int(side · sqrt(1 - lambda)) (timm's rand_bbox).
at::Tensor cutmix_box_sides(const at::Tensor& lambda, std::int64_t side);

}  // namespace augcore::augment

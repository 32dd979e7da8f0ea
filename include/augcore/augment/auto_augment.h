// The AutoAugment family as batch policies: AutoAugment (ImageNet and CIFAR-10 policies),
// RandAugment (timm's op set and magnitudes) and TrivialAugment (wide). Each op runs on the
// sub-batch of images that drew it; the geometric ones share one grid-sample.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <array>
#include <string>
#include <vector>

#include "augcore/augment/batch.h"
#include "augcore/augment/image_ops.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/regions.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

enum class Op : std::int64_t {
  kIdentity,
  kShearX,
  kShearY,
  kTranslateX,
  kTranslateY,
  kRotate,
  kBrightness,
  kColor,
  kContrast,
  kSharpness,
  kPosterize,
  kSolarize,
  kSolarizeAdd,
  kAutoContrast,
  kEqualize,
  kInvert,
};

const char* op_name(Op op);

struct OpSettings {
  ops::Interpolation interpolation = ops::Interpolation::kNearest;
  at::Tensor fill;  // per channel (or one value), pixels in [0,1]
};

// Applies op `ops[n]` with magnitude `magnitudes[n]` to image n (both CPU tensors of N: int64
// op ids, double magnitudes in the op's unit: shear factor, translation in pixels (truncated
// to an integer), rotation in degrees, enhancement factor, posterize bits, solarize threshold
// in [0,1], solarize-add amount in [0,1]).
at::Tensor apply_ops(const at::Tensor& images, const at::Tensor& ops, const at::Tensor& magnitudes,
                     const OpSettings& settings);

// One step of an AutoAugment sub-policy: op, probability, magnitude level 0–9 (-1: none).
struct SubPolicyStep {
  Op op;
  double probability;
  int level;
};
using SubPolicy = std::array<SubPolicyStep, 2>;

// The learned policies of the AutoAugment paper: "imagenet" or "cifar10" (25 sub-policies).
const std::vector<SubPolicy>& autoaugment_policy(const std::string& name);

// A level's magnitude on AutoAugment's 10-bin scale (torchvision's mapping), unsigned.
double autoaugment_magnitude(Op op, int level, std::int64_t height, std::int64_t width);

// One layer of drawn ops: op ids (int64 N) and magnitudes (float64 N), on the CPU.
struct OpLayer {
  at::Tensor ops, magnitudes;
};
// What one call of the family draws: its layers, applied in order.
using OpDraw = std::vector<OpLayer>;

struct AutoAugmentOptions {
  // The learned policy: "imagenet" or "cifar10".
  TORCH_ARG(std::string, policy) = "imagenet";
  // Resampling of the geometric ops.
  TORCH_ARG(ops::Interpolation, interpolation) = ops::Interpolation::kNearest;
  // Pixel value(s) for areas a geometric op uncovers (pass the dataset mean).
  TORCH_ARG(std::vector<double>, fill) = {0.5};
};

struct RandAugmentOptions {
  // Ops per image (N), drawn with replacement.
  TORCH_ARG(std::int64_t, num_ops) = 2;
  // Magnitude M on timm's 0–10 scale, the std of its per-op Gaussian noise, its upper clip.
  TORCH_ARG(double, magnitude) = 9;
  TORCH_ARG(double, magnitude_std) = 0.5;
  TORCH_ARG(double, magnitude_max) = 10;
  // Probability of applying each drawn op.
  TORCH_ARG(double, prob) = 0.5;
  // timm's increasing-severity op variants (rand-…-inc1).
  TORCH_ARG(bool, increasing) = true;
  TORCH_ARG(ops::Interpolation, interpolation) = ops::Interpolation::kBilinear;
  TORCH_ARG(std::vector<double>, fill) = {0.5};
};

struct TrivialAugmentOptions {
  TORCH_ARG(ops::Interpolation, interpolation) = ops::Interpolation::kNearest;
  TORCH_ARG(std::vector<double>, fill) = {0.5};
};

// The strong view of FixMatch as TorchSSL/USB implement it (semilearn's RandAugment(3, 5)):
// `num_ops` ops per image drawn with replacement from 14 (Identity, AutoContrast, Brightness,
// Color, Contrast, Equalize, Posterize, Rotate, Sharpness, ShearX/Y, Solarize, TranslateX/Y),
// each always applied at a magnitude drawn uniformly from its range. Their Cutout of random
// size follows as a separate policy (CutoutOptions::max_fraction 0.5).
struct FixMatchRandAugmentOptions {
  TORCH_ARG(std::int64_t, num_ops) = 3;
  TORCH_ARG(ops::Interpolation, interpolation) = ops::Interpolation::kBilinear;
  TORCH_ARG(std::vector<double>, fill) = {0.5};
};

// What every member of the family offers on top of its own draw(): the ops drawn for a batch
// (sample), their application (apply) and both at once (the call operators). `Derived` names
// itself in errors through kName and draws through draw(n, h, w, generator).
template <typename Derived, typename OptionsT>
class OpPolicy {
 public:
  using Options = OptionsT;
  explicit OpPolicy(Options options) : options_(std::move(options)) {}
  const Options& options() const { return options_; }
  // The ops for `images` (their batch size and image size).
  OpDraw sample(const at::Tensor& images, at::Generator generator = {}) const;
  at::Tensor apply(const at::Tensor& images, const OpDraw& draw) const;
  at::Tensor operator()(const at::Tensor& images, at::Generator generator = {}) const {
    return apply(images, sample(images, generator));
  }
  Batch operator()(Batch batch, at::Generator generator = {}) const {
    batch.images = (*this)(batch.images, generator);
    return batch;
  }

 protected:
  Options options_;
};

// AutoAugment (Cubuk et al.): per image, one of the policy's 25 sub-policies.
class AutoAugment : public OpPolicy<AutoAugment, AutoAugmentOptions> {
 public:
  static constexpr const char* kName = "AutoAugment";
  explicit AutoAugment(Options options = {});
  OpDraw draw(std::int64_t n, std::int64_t h, std::int64_t w, at::Generator& generator) const;

 private:
  const std::vector<SubPolicy>* policy_ = nullptr;
};

// RandAugment with timm's op set and magnitudes.
class RandAugment : public OpPolicy<RandAugment, RandAugmentOptions> {
 public:
  static constexpr const char* kName = "RandAugment";
  explicit RandAugment(Options options = {});
  OpDraw draw(std::int64_t n, std::int64_t h, std::int64_t w, at::Generator& generator) const;
};

// torchvision's TrivialAugmentWide: one op of 14, one of 31 magnitude bins, random sign.
class TrivialAugment : public OpPolicy<TrivialAugment, TrivialAugmentOptions> {
 public:
  static constexpr const char* kName = "TrivialAugment";
  explicit TrivialAugment(Options options = {});
  OpDraw draw(std::int64_t n, std::int64_t h, std::int64_t w, at::Generator& generator) const;
};

// FixMatch's RandAugment as TorchSSL/USB draw it: enhancers at factors in [0.05, 0.95],
// Posterize at 4–8 bits, Rotate ±30°, Shear ±0.3, Solarize at a threshold in [0, 256]/255,
// Translate ±0.3 of the side, every op applied.
class FixMatchRandAugment : public OpPolicy<FixMatchRandAugment, FixMatchRandAugmentOptions> {
 public:
  static constexpr const char* kName = "FixMatchRandAugment";
  explicit FixMatchRandAugment(Options options = {});
  OpDraw draw(std::int64_t n, std::int64_t h, std::int64_t w, at::Generator& generator) const;
};

// What a KeepAugment selective-paste call draws: the ops and the clean square pasted back.
struct PastedOps {
  OpDraw ops;
  Boxes paste;
};

// KeepAugment's selective-paste: `Policy`, then a paste_length square of the clean image
// pasted back where the saliency is above the τ-quantile.
template <typename Policy>
class KeepPaste {
 public:
  using Options = typename Policy::Options;
  KeepPaste(Options options, std::int64_t paste_length, SaliencyFn saliency, KeepOptions keep = {});
  // `saliency`, when given, is used instead of the saliency source (N×H×W).
  PastedOps sample(const at::Tensor& images, const at::Tensor& targets,
                   at::Generator generator = {}, const at::Tensor& saliency = {}) const;
  at::Tensor apply(const at::Tensor& images, const PastedOps& draw) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;

 private:
  Policy policy_;
  std::int64_t paste_length_;
  Keep keep_;
};

using KeepAutoAugment = KeepPaste<AutoAugment>;
using KeepRandAugment = KeepPaste<RandAugment>;
extern template class KeepPaste<AutoAugment>;
extern template class KeepPaste<RandAugment>;

}  // namespace augcore::augment

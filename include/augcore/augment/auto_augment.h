// The AutoAugment family as batch policies: AutoAugment (ImageNet and CIFAR-10 policies),
// RandAugment (timm's op set and magnitudes) and TrivialAugment (wide). Each op runs on the
// sub-batch of images that drew it; the geometric ones share one grid-sample.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "augcore/augment/image_ops.h"
#include "augcore/augment/policy.h"

namespace augcore::augment {

class Keep;

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

// Option schemas and factories (keep.h registers the keep_* variants from these).
config::Schema autoaugment_schema();
config::Schema randaugment_schema();
// Adds `paste_length`: the side of the clean region KeepAugment pastes back.
config::Schema with_paste_length(config::Schema schema);
std::unique_ptr<BatchPolicy> make_autoaugment(const config::Options& options,
                                              const PolicySetup& setup,
                                              std::shared_ptr<const Keep> keep);
std::unique_ptr<BatchPolicy> make_randaugment(const config::Options& options,
                                              const PolicySetup& setup,
                                              std::shared_ptr<const Keep> keep);

}  // namespace augcore::augment

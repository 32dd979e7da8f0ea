// DeiT-III's 3-Augment: per image one of grayscale, solarization or Gaussian blur (uniform
// choice), then colour jitter (brightness, contrast, saturation in a random order). The crop and
// flip before it are the loader's train transforms.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "augcore/augment/batch.h"

namespace augcore::augment {

struct ThreeAugmentOptions {
  // ColorJitter strength j: factors drawn from U(1 − j, 1 + j); 0 = no jitter (DeiT-III: 0.3).
  TORCH_ARG(double, color_jitter) = 0.3;
  // Blur σ from U(min, max): DeiT-III's GaussianBlur radius range.
  TORCH_ARG(double, blur_sigma_min) = 0.1;
  TORCH_ARG(double, blur_sigma_max) = 2.0;
  // Pixels at or above this are inverted (PIL's solarize default, 128 of 255).
  TORCH_ARG(double, solarize_threshold) = 128.0 / 255.0;
};

// What ThreeAugment drew for a batch of N.
struct ThreeAugmentDraw {
  at::Tensor choice;   // int64 N: 0 grayscale, 1 solarize, 2 blur
  at::Tensor sigma;    // float64 N: each image's blur σ (used where choice is 2)
  at::Tensor factors;  // float64 N×3: brightness, contrast, saturation factors
  at::Tensor order;    // int64 N×3: the jitter ops' order (a permutation of 0, 1, 2)
};

class ThreeAugment {
 public:
  using Options = ThreeAugmentOptions;
  static constexpr const char* kName = "ThreeAugment";
  explicit ThreeAugment(ThreeAugmentOptions options = {});
  ThreeAugmentDraw sample(std::int64_t n, at::Generator generator = {}) const;
  at::Tensor apply(const at::Tensor& images, const ThreeAugmentDraw& draw) const;
  at::Tensor operator()(const at::Tensor& images, at::Generator generator = {}) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;
  const ThreeAugmentOptions& options() const { return options_; }

 private:
  ThreeAugmentOptions options_;
};

}  // namespace augcore::augment

// Random erasing (Zhong et al., timm's semantics): boxes of random area and aspect, filled with
// the mean or noise in normalised units; KeepRandomErasing places them where the image is
// unimportant.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <utility>
#include <vector>

#include "augcore/augment/batch.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/keep_cut.h"
#include "augcore/augment/regions.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

// The fill of an erased box, as timm's modes: the mean (0 normalised), N(0,1) per channel, or
// N(0,1) per pixel, in normalised units.
enum class ErasingMode { kConst, kRandom, kPixel };

struct RandomErasingOptions {
  using Range = std::pair<double, double>;
  using CountRange = std::pair<std::int64_t, std::int64_t>;
  // Probability of erasing each image.
  TORCH_ARG(double, p) = 0.5;
  // Min and max erased fraction of the image (split between the image's boxes).
  TORCH_ARG(Range, area) = Range(0.02, 1.0 / 3.0);
  // Min and max aspect ratio h/w of a box.
  TORCH_ARG(Range, aspect) = Range(0.3, 1.0 / 0.3);
  TORCH_ARG(ErasingMode, mode) = ErasingMode::kConst;
  // Min and max boxes per image.
  TORCH_ARG(CountRange, count) = CountRange(1, 1);
  // The classifier's input normalisation, in pixels (the fill is mean + std·noise).
  TORCH_ARG(std::vector<double>, mean) = {0.5};
  TORCH_ARG(std::vector<double>, std) = {0.5};
};

// What one call draws: per round of boxes, the boxes (empty where an image has no box that
// round) and their fill (1×C×1×1, N×C×1×1 or N×C×H×W pixels).
struct ErasedBoxes {
  std::vector<Boxes> boxes;
  std::vector<at::Tensor> fills;
};

class RandomErasing {
 public:
  using Options = RandomErasingOptions;
  using Draw = ErasedBoxes;
  static constexpr const char* kName = "RandomErasing";
  explicit RandomErasing(RandomErasingOptions options = {});
  ErasedBoxes sample(const at::Tensor& images, at::Generator generator = {}) const;
  at::Tensor apply(const at::Tensor& images, const ErasedBoxes& erased) const;
  at::Tensor operator()(const at::Tensor& images, at::Generator generator = {}) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;
  const RandomErasingOptions& options() const { return options_; }
  // The boxes placed by `keep` under `saliency` (uniformly when `keep` is null).
  ErasedBoxes draw(const at::Tensor& images, const Keep* keep, const at::Tensor& saliency,
                   at::Generator& generator) const;

 private:
  RandomErasingOptions options_;
};

// KeepAugment's random erasing: the boxes land where the saliency is below the τ-quantile.
using KeepRandomErasing = KeepCut<RandomErasing>;
extern template class KeepCut<RandomErasing>;

// Random-erasing box sizes, as timm draws them: per image, up to 10 attempts of area
// U(area)·H·W/count (`counts`: the image's number of boxes) and aspect exp(U(log aspect));
// the first attempt with h < H and w < W wins. Returns int64 N×2 (h, w); (0, 0) where no
// attempt fits.
at::Tensor erasing_sizes(std::int64_t height, std::int64_t width, std::pair<double, double> area,
                         std::pair<double, double> aspect, const at::Tensor& counts,
                         at::Generator& generator);

}  // namespace augcore::augment

// Cutout (DeVries & Taylor): one square per image, centred at a uniform pixel and clipped to the
// image, filled with the dataset mean; KeepCutout places it where the image is unimportant.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <optional>
#include <vector>

#include "augcore/augment/batch.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/keep_cut.h"
#include "augcore/augment/regions.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

struct CutoutOptions {
  explicit CutoutOptions(std::int64_t length) : length_(length) {}
  // Side of the square in pixels (16 on 32 px, 112 on 224 px); at most the image's sides.
  TORCH_ARG(std::int64_t, length);
  // Probability of cutting each image.
  TORCH_ARG(double, p) = 1.0;
  // When above 0, each square's side is drawn per image as trunc(u · max_fraction · min(H, W)),
  // u uniform in [0, 1), instead of `length` (FixMatch's strong view in TorchSSL/USB: 0.5).
  TORCH_ARG(double, max_fraction) = 0.0;
  // Pixel value(s) of the square: the dataset mean (zero after normalisation).
  TORCH_ARG(std::vector<double>, fill) = {0.5};
};

class Cutout {
 public:
  using Options = CutoutOptions;
  using Draw = Boxes;
  static constexpr const char* kName = "Cutout";
  explicit Cutout(CutoutOptions options);
  // The squares for `images` (an image left alone gets an empty box).
  Boxes sample(const at::Tensor& images, at::Generator generator = {}) const;
  // `images` with `boxes` filled.
  at::Tensor apply(const at::Tensor& images, const Boxes& boxes) const;
  at::Tensor operator()(const at::Tensor& images, at::Generator generator = {}) const;
  Batch operator()(Batch batch, at::Generator generator = {}) const;
  const CutoutOptions& options() const { return options_; }
  // The squares placed by `keep` under `saliency` (uniformly when `keep` is null).
  Boxes draw(const at::Tensor& images, const Keep* keep, const at::Tensor& saliency,
             at::Generator& generator) const;

 private:
  CutoutOptions options_;
};

// KeepCutout: the square lands where the box's saliency is below the τ-quantile.
using KeepCutout = KeepCut<Cutout>;
extern template class KeepCut<Cutout>;

}  // namespace augcore::augment

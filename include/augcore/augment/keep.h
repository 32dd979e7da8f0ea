// KeepAugment: score every candidate region by the saliency inside it, and place cuts where
// an image is unimportant (selective-cut) or pastes where it is important (selective-paste).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <string>

#include "augcore/augment/regions.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

// Importance of the box at every position: the sum of `saliency` (N×H×W) inside it, with the
// same clipping as the box itself; float64 N×H×W. Positions invalid under `placement` hold 0.
at::Tensor box_scores(const at::Tensor& saliency, const at::Tensor& heights,
                      const at::Tensor& widths, Placement placement);

// Per image, the q-quantile (linear interpolation) of its scores over the valid positions.
at::Tensor score_threshold(const at::Tensor& scores, const at::Tensor& valid, double quantile);

// One position per image (int64 N×2: row, col), uniform among the valid positions whose
// score is below τ (`important` false: cut) or above τ (true: paste). An image with no
// such position (ties, e.g. a constant map) draws among score ≤ τ, resp. ≥ τ.
at::Tensor choose_positions(const at::Tensor& scores, const at::Tensor& valid,
                            const at::Tensor& threshold, bool important, at::Generator& generator);

struct KeepOptions {
  // τ = this quantile (in [0,1]) of an image's region scores; cuts land below it, pastes above.
  TORCH_ARG(double, quantile) = 0.6;
  // Score a region by its saliency per pixel inside the image rather than its sum (the paper's).
  // Summed scores favour boxes clipped at the border, whose smaller in-image part holds less
  // saliency: a selective cut there removes fewer pixels than an unclipped one.
  TORCH_ARG(bool, mean_score) = false;
};

// What a Keep* policy adds to its base policy: a saliency source and region placement by it.
class Keep {
 public:
  // `owner` names the policy in error messages ("KeepCutout").
  Keep(SaliencyFn saliency, KeepOptions options, std::string owner);
  // N×H×W saliency of the batch: `given` when defined (checked against the images), else the
  // saliency source's.
  at::Tensor saliency(const at::Tensor& images, const at::Tensor& targets,
                      const at::Tensor& given = {}) const;
  // Positions for boxes of heights×widths in the images whose saliency is `saliency`:
  // unimportant places (`important` false: cut) or important ones (true: paste).
  at::Tensor positions(const at::Tensor& saliency, const at::Tensor& heights,
                       const at::Tensor& widths, Placement placement, bool important,
                       at::Generator& generator) const;
  const KeepOptions& options() const { return options_; }

 private:
  SaliencyFn saliency_;
  KeepOptions options_;
  std::string owner_;
};

// Positions for cuts of heights×widths: uniform when `keep` is null, else KeepAugment's
// unimportant places under `saliency`. On the images' device.
at::Tensor cut_positions(const Keep* keep, const at::Tensor& saliency, const at::Tensor& images,
                         const at::Tensor& heights, const at::Tensor& widths, Placement placement,
                         at::Generator& generator);

}  // namespace augcore::augment

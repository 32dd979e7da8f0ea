// KeepAugment: score every candidate region by the saliency inside it, and place cuts where
// an image is unimportant (selective-cut) or pastes where it is important (selective-paste).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "augcore/augment/policy.h"
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
  SaliencyMethod saliency = SaliencyMethod::kFull;
  double quantile = 0.6;
};

// What a Keep* policy adds to its base policy: saliency of the batch and region placement.
class Keep {
 public:
  Keep(KeepOptions options, const PolicySetup& setup);
  at::Tensor saliency(const PolicyBatch& batch, StepContext& context) const;
  // Positions for boxes of heights×widths in the images whose saliency is `saliency`.
  at::Tensor positions(const at::Tensor& saliency, const at::Tensor& heights,
                       const at::Tensor& widths, Placement placement, bool important,
                       at::Generator& generator) const;

 private:
  KeepOptions options_;
  at::Tensor mean_, std_;
};

// Positions for boxes: uniform, or KeepAugment's unimportant places when `keep` is set.
at::Tensor cut_positions(const Keep* keep, const PolicyBatch& batch, StepContext& context,
                         const at::Tensor& heights, const at::Tensor& widths, Placement placement);

}  // namespace augcore::augment

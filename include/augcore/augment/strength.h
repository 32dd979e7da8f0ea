// How strongly an augmentation changes images: shares of pixels changed, mean |Δ|, the share of
// the object (non-background pixels) altered and of its ink removed, and for masking policies
// how much of the object the masked patches cover.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <vector>

namespace augcore::augment {

struct StrengthOptions {
  // A pixel counts as changed when |augmented − original| exceeds this (pixels in [0,1]).
  TORCH_ARG(double, threshold) = 0.1;
  // Object pixels are those above this value in some channel of the original (Fashion-MNIST's
  // background is exactly 0).
  TORCH_ARG(double, background) = 0.0;
  // The fill of cut policies (Cutout's, random erasing's: the dataset mean): a pixel that
  // becomes exactly this value, and was not, counts as filled. Empty = not counted.
  TORCH_ARG(std::vector<double>, fill) = {};
};

// Averages over every image added (images a policy left alone count, so `p` < 1 shows).
struct Strength {
  std::int64_t images = 0;
  double images_changed = 0;  // share of images with at least one changed pixel
  double pixels_changed = 0;  // share of pixels changed
  double mean_abs_delta = 0;  // mean |Δ| per pixel and channel
  double object_altered = 0;  // share of object pixels changed
  double ink_removed = 0;     // Σ max(original − augmented, 0) over object pixels / Σ original
  double filled_per_image = 0;  // pixels per image set to the fill (a cut's in-image area)
  // Masking policies (add_mask): the object's share of the masked and of the kept patches'
  // pixels, and the share of all object pixels that lie in masked patches. −1 when not measured.
  double masked_patch_object = -1, kept_patch_object = -1, object_masked = -1;
};

class StrengthMeter {
 public:
  explicit StrengthMeter(StrengthOptions options = {});
  // One batch: `original` and `augmented` float N×C×H×W in [0,1], the same shape.
  void add(const at::Tensor& original, const at::Tensor& augmented);
  // The patch mask (N×L, 1 = masked, row-major over the patch grid of `patch` px) a masking
  // policy drew for `original`.
  void add_mask(const at::Tensor& original, const at::Tensor& mask, std::int64_t patch);
  Strength result() const;

 private:
  StrengthOptions options_;
  std::int64_t images_ = 0, images_changed_ = 0;
  double pixels_ = 0, values_ = 0, changed_ = 0, abs_delta_ = 0, object_ = 0, altered_ = 0,
         ink_ = 0, ink_removed_ = 0, filled_ = 0;
  double masked_px_ = 0, masked_object_ = 0, kept_px_ = 0, kept_object_ = 0, mask_object_ = 0;
};

}  // namespace augcore::augment

#include "augcore/augment/strength.h"

#include <ATen/ATen.h>

#include "augcore/core/error.h"

namespace augcore::augment {
namespace {

// Bool N×1×H×W: pixels above the background in some channel.
at::Tensor object_pixels(const at::Tensor& original, double background) {
  return original.gt(background).any(1, true);
}

}  // namespace

StrengthMeter::StrengthMeter(StrengthOptions options) : options_(std::move(options)) {}

void StrengthMeter::add(const at::Tensor& original, const at::Tensor& augmented) {
  if (original.dim() != 4 || original.sizes() != augmented.sizes()) {
    throw OptionError("StrengthMeter", "augmented",
                      "original and augmented must be N×C×H×W of the same shape");
  }
  const at::Tensor x = original.to(at::kCPU, at::kDouble);
  const at::Tensor y = augmented.to(at::kCPU, at::kDouble);
  const at::Tensor delta = (y - x).abs();
  const at::Tensor changed = delta.gt(options_.threshold()).any(1, true);  // N×1×H×W
  const at::Tensor object = object_pixels(x, options_.background());
  images_ += x.size(0);
  images_changed_ += changed.flatten(1).any(1).sum().item<std::int64_t>();
  pixels_ += static_cast<double>(changed.numel());
  values_ += static_cast<double>(delta.numel());
  changed_ += changed.sum().item<double>();
  abs_delta_ += delta.sum().item<double>();
  object_ += object.sum().item<double>();
  altered_ += (changed & object).sum().item<double>();
  const at::Tensor on_object = object.expand_as(x);
  ink_ += x.masked_select(on_object).sum().item<double>();
  ink_removed_ += (x - y).clamp_min(0).masked_select(on_object).sum().item<double>();
  if (!options_.fill().empty()) {
    const auto& f = options_.fill();
    if (f.size() != 1 && static_cast<std::int64_t>(f.size()) != x.size(1)) {
      throw OptionError(
          "StrengthOptions", "fill",
          std::to_string(f.size()) + " values for " + std::to_string(x.size(1)) + " channels");
    }
    const at::Tensor fill =
        at::tensor(f, at::kDouble).reshape({1, static_cast<std::int64_t>(f.size()), 1, 1});
    // Compared at float precision: the policies write the fill as float.
    const auto is_fill = [&](const at::Tensor& t) {
      return (t - fill).abs().lt(1e-6).all(1, true);
    };
    filled_ += (is_fill(y) & ~is_fill(x)).sum().item<double>();
  }
}

void StrengthMeter::add_mask(const at::Tensor& original, const at::Tensor& mask,
                             std::int64_t patch) {
  const auto n = original.size(0), h = original.size(2), w = original.size(3);
  if (patch <= 0 || h % patch != 0 || w % patch != 0 || mask.dim() != 2 || mask.size(0) != n ||
      mask.size(1) != (h / patch) * (w / patch)) {
    throw OptionError("StrengthMeter", "mask", "the mask is not N×L over the images' patch grid");
  }
  const at::Tensor object =
      object_pixels(original.to(at::kCPU, at::kDouble), options_.background()).to(at::kDouble);
  const at::Tensor m = mask.to(at::kCPU, at::kDouble).gt(0.5).to(at::kDouble);
  const at::Tensor mask_img =
      at::upsample_nearest2d(m.reshape({n, 1, h / patch, w / patch}), {h, w});
  masked_px_ += mask_img.sum().item<double>();
  kept_px_ += (1 - mask_img).sum().item<double>();
  masked_object_ += (object * mask_img).sum().item<double>();
  kept_object_ += (object * (1 - mask_img)).sum().item<double>();
  mask_object_ += object.sum().item<double>();
}

Strength StrengthMeter::result() const {
  Strength s;
  s.images = images_;
  const auto share = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  s.images_changed = share(static_cast<double>(images_changed_), static_cast<double>(images_));
  s.pixels_changed = share(changed_, pixels_);
  s.mean_abs_delta = share(abs_delta_, values_);
  s.object_altered = share(altered_, object_);
  s.ink_removed = share(ink_removed_, ink_);
  s.filled_per_image = share(filled_, static_cast<double>(images_));
  if (masked_px_ + kept_px_ > 0) {
    s.masked_patch_object = share(masked_object_, masked_px_);
    s.kept_patch_object = share(kept_object_, kept_px_);
    s.object_masked = share(masked_object_, mask_object_);
  }
  return s;
}

}  // namespace augcore::augment

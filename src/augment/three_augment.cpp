#include "augcore/augment/three_augment.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/augment/image_ops.h"
#include "augcore/core/error.h"

namespace augcore::augment {

ThreeAugment::ThreeAugment(ThreeAugmentOptions options) : options_(options) {
  if (!(options_.color_jitter() >= 0 && options_.color_jitter() < 1)) {
    throw OptionError("ThreeAugmentOptions", "color_jitter",
                      fmt::format("{} is outside [0, 1)", options_.color_jitter()));
  }
  if (!(options_.blur_sigma_min() > 0 && options_.blur_sigma_min() <= options_.blur_sigma_max())) {
    throw OptionError("ThreeAugmentOptions", "blur_sigma_min",
                      fmt::format("needs 0 < min ≤ max, got {} and {}", options_.blur_sigma_min(),
                                  options_.blur_sigma_max()));
  }
  if (!(options_.solarize_threshold() >= 0 && options_.solarize_threshold() <= 1)) {
    throw OptionError("ThreeAugmentOptions", "solarize_threshold",
                      fmt::format("{} is outside [0, 1]", options_.solarize_threshold()));
  }
}

ThreeAugmentDraw ThreeAugment::sample(std::int64_t n, at::Generator generator) const {
  ThreeAugmentDraw d;
  d.choice = at::randint(3, {n}, generator, at::kLong);
  d.sigma = at::empty({n}, at::kDouble)
                .uniform_(options_.blur_sigma_min(), options_.blur_sigma_max(), generator);
  const double j = options_.color_jitter();
  d.factors = at::empty({n, 3}, at::kDouble).uniform_(1 - j, 1 + j, generator);
  d.order = at::argsort(at::rand({n, 3}, generator, at::kDouble), /*dim=*/1, /*descending=*/false);
  return d;
}

at::Tensor ThreeAugment::apply(const at::Tensor& images, const ThreeAugmentDraw& draw) const {
  check_images(images, kName);
  return in_float(images, [&](const at::Tensor& x) {
    const auto dev = x.device();
    const auto mask = [&](const at::Tensor& m) { return m.to(dev).view({-1, 1, 1, 1}); };
    const at::Tensor choice = draw.choice.to(dev);
    at::Tensor out = at::where(mask(choice == 0), ops::grayscale(x), x);
    const at::Tensor threshold = at::full({x.size(0)}, options_.solarize_threshold(), x.options());
    out = at::where(mask(choice == 1), ops::solarize(x, threshold), out);
    const at::Tensor blurred = choice.eq(2).nonzero().view(-1);
    if (blurred.numel() > 0) {
      out = out.index_copy(0, blurred,
                           ops::gaussian_blur(x.index_select(0, blurred),
                                              draw.sigma.index_select(0, blurred.cpu())));
    }
    if (options_.color_jitter() == 0) return out;
    const at::Tensor factors = draw.factors.to(dev, x.scalar_type());
    const at::Tensor order = draw.order.to(dev);
    for (std::int64_t slot = 0; slot < 3; ++slot) {
      const at::Tensor op = order.select(1, slot);
      at::Tensor next = out;
      next = at::where(mask(op == 0), ops::brightness(out, factors.select(1, 0)), next);
      next = at::where(mask(op == 1), ops::contrast(out, factors.select(1, 1)), next);
      out = at::where(mask(op == 2), ops::saturation(out, factors.select(1, 2)), next);
    }
    return out;
  });
}

at::Tensor ThreeAugment::operator()(const at::Tensor& images, at::Generator generator) const {
  check_images(images, kName);
  return apply(images, sample(images.size(0), generator));
}

Batch ThreeAugment::operator()(Batch batch, at::Generator generator) const {
  batch.images = (*this)(batch.images, generator);
  return batch;
}

}  // namespace augcore::augment

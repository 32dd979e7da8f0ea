#include "augcore/augment/cutout.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <algorithm>

#include "augcore/augment/gate.h"
#include "augcore/core/error.h"

namespace augcore::augment {

Cutout::Cutout(CutoutOptions options) : options_(std::move(options)) {
  if (options_.length() < 1) {
    throw OptionError("CutoutOptions", "length", fmt::format("{} is below 1", options_.length()));
  }
  check_probability(options_.p(), "CutoutOptions");
}

Boxes Cutout::draw(const at::Tensor& images, const Keep* keep, const at::Tensor& saliency,
                   at::Generator& generator) const {
  check_images(images, "Cutout");
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  if (options_.length() > h || options_.length() > w) {
    throw OptionError("CutoutOptions", "length",
                      fmt::format("{} exceeds the {}×{} images", options_.length(), h, w));
  }
  const at::Tensor chosen = draw_gate(options_.p(), n, generator);
  if (!(options_.max_fraction() >= 0 && options_.max_fraction() <= 1)) {
    throw OptionError("CutoutOptions", "max_fraction",
                      fmt::format("{} is outside [0, 1]", options_.max_fraction()));
  }
  const at::Tensor sizes =
      options_.max_fraction() > 0
          ? at::rand({n}, generator, at::kDouble)
                .mul(options_.max_fraction() * static_cast<double>(std::min(h, w)))
                .trunc()
                .to(at::kLong)
          : at::full({n}, options_.length(), at::kLong);
  const at::Tensor pos =
      cut_positions(keep, saliency, images, sizes, sizes, Placement::kCentered, generator);
  const at::Tensor dev_sizes = sizes.to(pos.device());
  Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), dev_sizes, dev_sizes,
                         Placement::kCentered, h, w);
  return empty_unless(boxes, chosen.to(pos.device()));
}

Boxes Cutout::sample(const at::Tensor& images, at::Generator generator) const {
  return draw(images, nullptr, {}, generator);
}

at::Tensor Cutout::apply(const at::Tensor& images, const Boxes& boxes) const {
  check_images(images, "Cutout");
  const at::Tensor fill = channel_tensor(options_.fill(), images, "CutoutOptions", "fill");
  const at::Tensor mask = box_mask(boxes, images.size(2), images.size(3));
  return like_input(at::where(mask, fill, images), images);
}

at::Tensor Cutout::operator()(const at::Tensor& images, at::Generator generator) const {
  return apply(images, sample(images, generator));
}

Batch Cutout::operator()(Batch batch, at::Generator generator) const {
  batch.images = (*this)(batch.images, generator);
  return batch;
}

template class KeepCut<Cutout>;

}  // namespace augcore::augment

#include "augcore/augment/random_erasing.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <cmath>

#include "augcore/augment/gate.h"
#include "augcore/core/error.h"

namespace augcore::augment {
namespace {

void check_range(std::pair<double, double> r, double lo, double hi, const char* option) {
  if (r.first > r.second) {
    throw OptionError("RandomErasingOptions", option,
                      fmt::format("[{}, {}] is not a range (min > max)", r.first, r.second));
  }
  if (!(r.first >= lo && r.second <= hi)) {
    throw OptionError("RandomErasingOptions", option,
                      fmt::format("[{}, {}] is outside [{}, {}]", r.first, r.second, lo, hi));
  }
}

}  // namespace

RandomErasing::RandomErasing(RandomErasingOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check_probability(o.p(), "RandomErasingOptions");
  check_range(o.area(), 1e-6, 1, "area");
  check_range(o.aspect(), 1e-3, 1e3, "aspect");
  const auto [lo, hi] = o.count();
  if (lo > hi) {
    throw OptionError("RandomErasingOptions", "count",
                      fmt::format("min {} exceeds max {}", lo, hi));
  }
  if (lo < 1 || hi > 100) {
    throw OptionError("RandomErasingOptions", "count",
                      fmt::format("[{}, {}] is outside [1, 100]", lo, hi));
  }
}

ErasedBoxes RandomErasing::draw(const at::Tensor& images, const Keep* keep,
                                const at::Tensor& saliency, at::Generator& generator) const {
  check_images(images, "RandomErasing");
  const auto n = images.size(0), c = images.size(1);
  const auto h = images.size(2), w = images.size(3);
  const at::Device device = images.device();
  const at::Tensor mean = channel_tensor(options_.mean(), images, "RandomErasingOptions", "mean");
  const at::Tensor std = channel_tensor(options_.std(), images, "RandomErasingOptions", "std");
  const at::Tensor chosen = draw_gate(options_.p(), n, generator);
  const at::Tensor counts =
      at::randint(options_.count().first, options_.count().second + 1, {n}, generator, at::kLong);
  ErasedBoxes out;
  for (std::int64_t k = 0; k < options_.count().second; ++k) {
    const at::Tensor sizes =
        erasing_sizes(h, w, options_.area(), options_.aspect(), counts, generator);
    const at::Tensor hs = sizes.select(1, 0).contiguous(), ws = sizes.select(1, 1).contiguous();
    const at::Tensor active = chosen.logical_and(counts.gt(k)).logical_and(hs.gt(0));
    const at::Tensor pos =
        keep != nullptr ? keep->positions(saliency, hs, ws, Placement::kInside, false, generator)
                        : uniform_positions(hs, ws, Placement::kInside, h, w, generator).to(device);
    const Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), hs.to(device), ws.to(device),
                                 Placement::kInside, h, w);
    out.boxes.push_back(empty_unless(boxes, active.to(device)));
    switch (options_.mode()) {
      case ErasingMode::kConst:
        out.fills.push_back(mean);
        break;
      case ErasingMode::kRandom:
        out.fills.push_back(
            mean +
            std * at::normal(0, 1, {n, c, 1, 1}, generator).to(device, images.scalar_type()));
        break;
      case ErasingMode::kPixel:
        out.fills.push_back(
            mean +
            std * at::normal(0, 1, {n, c, h, w}, generator).to(device, images.scalar_type()));
        break;
    }
  }
  return out;
}

ErasedBoxes RandomErasing::sample(const at::Tensor& images, at::Generator generator) const {
  return draw(images, nullptr, {}, generator);
}

at::Tensor RandomErasing::apply(const at::Tensor& images, const ErasedBoxes& erased) const {
  check_images(images, "RandomErasing");
  at::Tensor out = images;
  for (std::size_t k = 0; k < erased.boxes.size(); ++k) {
    const at::Tensor mask = box_mask(erased.boxes[k], images.size(2), images.size(3));
    out = at::where(mask, erased.fills[k].to(images.device(), images.scalar_type()), out);
  }
  return like_input(out, images);
}

at::Tensor RandomErasing::operator()(const at::Tensor& images, at::Generator generator) const {
  return apply(images, sample(images, generator));
}

Batch RandomErasing::operator()(Batch batch, at::Generator generator) const {
  batch.images = (*this)(batch.images, generator);
  return batch;
}

template class KeepCut<RandomErasing>;

at::Tensor erasing_sizes(std::int64_t height, std::int64_t width, std::pair<double, double> area,
                         std::pair<double, double> aspect, const at::Tensor& counts,
                         at::Generator& generator) {
  constexpr int kAttempts = 10;
  const auto n = counts.size(0);
  const double total = static_cast<double>(height * width);
  const at::Tensor target =
      (at::rand({n, kAttempts}, generator, at::kDouble) * (area.second - area.first) + area.first) *
      total / counts.to(at::kDouble).view({-1, 1});
  const double la = std::log(aspect.first), lb = std::log(aspect.second);
  const at::Tensor ratio =
      at::exp(at::rand({n, kAttempts}, generator, at::kDouble) * (lb - la) + la);
  const at::Tensor hs = at::sqrt(target * ratio).round().to(at::kLong);
  const at::Tensor ws = at::sqrt(target / ratio).round().to(at::kLong);
  const at::Tensor fits = hs.lt(height).logical_and(ws.lt(width));
  const at::Tensor first = fits.to(at::kByte).argmax(1, true);  // first fitting attempt
  const at::Tensor any = fits.any(1);
  const at::Tensor h = hs.gather(1, first).squeeze(1).masked_fill(any.logical_not(), 0);
  const at::Tensor w = ws.gather(1, first).squeeze(1).masked_fill(any.logical_not(), 0);
  return at::stack({h, w}, 1);
}

}  // namespace augcore::augment

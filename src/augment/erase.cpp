#include "augcore/augment/erase.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <cmath>

#include "augcore/augment/keep.h"
#include "augcore/augment/regions.h"
#include "augcore/core/error.h"

namespace augcore::augment {
namespace {

// Cutout: one length×length square per chosen image, centred at a uniform pixel and clipped
// to the image, filled with the dataset mean (zero after normalisation).
class Cutout : public BatchPolicy {
 public:
  Cutout(std::int64_t length, double p, at::Tensor fill, std::shared_ptr<const Keep> keep)
      : length_(length), p_(p), fill_(std::move(fill)), keep_(std::move(keep)) {}

  void apply(PolicyBatch& batch, StepContext& context) override {
    const auto n = batch.images.size(0), h = batch.images.size(2), w = batch.images.size(3);
    const at::Tensor chosen =
        at::empty({n}, at::kDouble).bernoulli_(p_, context.generator).to(at::kBool);
    const at::Tensor sizes = at::full({n}, length_, at::kLong);
    const at::Tensor pos =
        cut_positions(keep_.get(), batch, context, sizes, sizes, Placement::kCentered);
    const at::Tensor dev_sizes = sizes.to(pos.device());
    const Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), dev_sizes, dev_sizes,
                                 Placement::kCentered, h, w);
    const at::Tensor mask =
        box_mask(boxes, h, w).logical_and(chosen.to(pos.device()).view({-1, 1, 1, 1}));
    batch.images = at::where(mask, fill_, batch.images);
  }

 private:
  std::int64_t length_;
  double p_;
  at::Tensor fill_;
  std::shared_ptr<const Keep> keep_;
};

enum class EraseFill { kConst, kRandom, kPixel };

class RandomErasing : public BatchPolicy {
 public:
  RandomErasing(double probability, std::pair<double, double> area,
                std::pair<double, double> aspect, EraseFill fill, std::pair<int, int> count,
                at::Tensor mean, at::Tensor std, std::shared_ptr<const Keep> keep)
      : probability_(probability),
        area_(area),
        aspect_(aspect),
        fill_(fill),
        count_(count),
        mean_(std::move(mean)),
        std_(std::move(std)),
        keep_(std::move(keep)) {}

  void apply(PolicyBatch& batch, StepContext& context) override {
    const auto n = batch.images.size(0), c = batch.images.size(1);
    const auto h = batch.images.size(2), w = batch.images.size(3);
    const at::Device device = batch.images.device();
    const at::Tensor chosen =
        at::empty({n}, at::kDouble).bernoulli_(probability_, context.generator).to(at::kBool);
    const at::Tensor counts =
        at::randint(count_.first, count_.second + 1, {n}, context.generator, at::kLong);
    at::Tensor saliency;
    if (keep_) saliency = keep_->saliency(batch, context);
    for (int k = 0; k < count_.second; ++k) {
      const at::Tensor sizes = erasing_sizes(h, w, area_, aspect_, counts, context.generator);
      const at::Tensor hs = sizes.select(1, 0).contiguous(), ws = sizes.select(1, 1).contiguous();
      const at::Tensor active = chosen.logical_and(counts.gt(k)).logical_and(hs.gt(0));
      const at::Tensor pos =
          keep_ ? keep_->positions(saliency, hs, ws, Placement::kInside, false, context.generator)
                : uniform_positions(hs, ws, Placement::kInside, h, w, context.generator).to(device);
      const Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), hs.to(device), ws.to(device),
                                   Placement::kInside, h, w);
      const at::Tensor mask =
          box_mask(boxes, h, w).logical_and(active.to(device).view({-1, 1, 1, 1}));
      at::Tensor value;
      switch (fill_) {
        case EraseFill::kConst:
          value = mean_;
          break;
        case EraseFill::kRandom:
          value = mean_ + std_ * at::normal(0, 1, {n, c, 1, 1}, context.generator).to(device);
          break;
        case EraseFill::kPixel:
          value = mean_ + std_ * at::normal(0, 1, {n, c, h, w}, context.generator).to(device);
          break;
      }
      batch.images = at::where(mask, value, batch.images);
    }
  }

 private:
  double probability_;
  std::pair<double, double> area_, aspect_;
  EraseFill fill_;
  std::pair<int, int> count_;
  at::Tensor mean_, std_;
  std::shared_ptr<const Keep> keep_;
};

std::pair<double, double> range_of(const config::Options& o, const std::string& key) {
  const auto v = o.reals(key);
  if (v[0] > v[1]) {
    throw ConfigError(
        fmt::format("{}.{}: [{}, {}] is not a range (min > max)", o.path(), key, v[0], v[1]));
  }
  return {v[0], v[1]};
}

bool registered_cutout = config::register_component(
    "policy", "cutout", "erase one square per image (Cutout), fill = the dataset mean",
    cutout_schema(), PolicyFactory([](const config::Options& o, const PolicySetup& s) {
      return make_cutout(o, s, nullptr);
    }));

bool registered_erasing = config::register_component(
    "policy", "random_erasing", "timm's random erasing (boxes of random area and aspect)",
    random_erasing_schema(), PolicyFactory([](const config::Options& o, const PolicySetup& s) {
      return make_random_erasing(o, s, nullptr);
    }));

}  // namespace

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

config::Schema cutout_schema() {
  config::Schema s;
  s.add_int("length", 16, "side of the square in pixels (16 on 32 px, 112 on 224 px)")
      .range(1, 1 << 16);
  s.add_float("p", 1.0, "probability of cutting each image").range(0, 1);
  return s;
}

config::Schema random_erasing_schema() {
  config::Schema s;
  s.add_float("probability", 0.5, "probability of erasing each image").range(0, 1);
  s.add_floats("area", {0.02, 1.0 / 3.0}, "min and max erased fraction of the image")
      .items(2, 2)
      .range(1e-6, 1);
  s.add_floats("aspect", {0.3, 1.0 / 0.3}, "min and max aspect ratio (h/w) of a box")
      .items(2, 2)
      .range(1e-3, 1e3);
  s.add_choice("mode", "const", {"const", "rand", "pixel"},
               "fill: the mean (0 normalised), N(0,1) per channel, or N(0,1) per pixel "
               "(timm's modes, in normalised units)");
  s.add_ints("count", {1, 1}, "min and max boxes per image").items(2, 2).range(1, 100);
  return s;
}

std::unique_ptr<BatchPolicy> make_cutout(const config::Options& o, const PolicySetup& setup,
                                         std::shared_ptr<const Keep> keep) {
  return std::make_unique<Cutout>(o.integer("length"), o.real("p"),
                                  channel_values(setup.mean, setup.channels, setup.device),
                                  std::move(keep));
}

std::unique_ptr<BatchPolicy> make_random_erasing(const config::Options& o, const PolicySetup& setup,
                                                 std::shared_ptr<const Keep> keep) {
  const std::string mode = o.string("mode");
  const EraseFill fill = mode == "rand"    ? EraseFill::kRandom
                         : mode == "pixel" ? EraseFill::kPixel
                                           : EraseFill::kConst;
  const auto counts = o.integers("count");
  if (counts[0] > counts[1]) {
    throw ConfigError(o.path() + ".count: min " + std::to_string(counts[0]) + " exceeds max " +
                      std::to_string(counts[1]));
  }
  return std::make_unique<RandomErasing>(
      o.real("probability"), range_of(o, "area"), range_of(o, "aspect"), fill,
      std::pair<int, int>(static_cast<int>(counts[0]), static_cast<int>(counts[1])),
      channel_values(setup.mean, setup.channels, setup.device),
      channel_values(setup.std, setup.channels, setup.device), std::move(keep));
}

}  // namespace augcore::augment

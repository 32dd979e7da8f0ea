#include "augcore/augment/mix.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/augment/gate.h"
#include "augcore/core/error.h"

namespace augcore::augment {
namespace {

void check_mix_options(const MixupOptions& o, const char* owner) {
  if (o.num_classes() < 1) {
    throw OptionError(owner, "num_classes", fmt::format("{} is below 1", o.num_classes()));
  }
  if (!(o.alpha() > 0)) throw OptionError(owner, "alpha", fmt::format("{} is not > 0", o.alpha()));
  check_probability(o.p(), owner);
  if (!(o.label_smoothing() >= 0 && o.label_smoothing() < 1)) {
    throw OptionError(owner, "label_smoothing",
                      fmt::format("{} is outside [0, 1)", o.label_smoothing()));
  }
}

// Checks a batch's targets against num_classes (labels in range, soft targets of K columns).
void check_mix_batch(const Batch& batch, std::int64_t num_classes, const std::string& owner) {
  check_images(batch.images, owner);
  check_targets(batch.targets, batch.images.size(0), owner);
  if (batch.targets.dim() == 2 && batch.targets.size(1) != num_classes) {
    throw OptionError(owner, "targets",
                      fmt::format("{} columns for {} classes", batch.targets.size(1), num_classes));
  }
  if (batch.targets.dim() == 1) {
    const auto lo = batch.targets.min().item<std::int64_t>();
    const auto hi = batch.targets.max().item<std::int64_t>();
    if (lo < 0 || hi >= num_classes) {
      throw OptionError(owner, "targets",
                        fmt::format("labels span [{}, {}], outside [0, {})", lo, hi, num_classes));
    }
  }
}

// Beta(alpha, alpha) draws, as G1 / (G1 + G2) with G ~ Gamma(alpha).
at::Tensor beta(double alpha, std::int64_t n, at::Generator& generator) {
  const at::Tensor a = at::full({2, n}, alpha, at::kDouble);
  const at::Tensor g = at::_standard_gamma(a, generator);
  return g[0] / (g[0] + g[1]);
}

// Lambdas per image: one draw shared by the batch (kBatch) or one per image (kElem);
// images not chosen (probability 1 - p) keep lambda 1.
at::Tensor draw_lambda(double alpha, double p, MixMode mode, std::int64_t n,
                       at::Generator& generator) {
  at::Tensor lam = mode == MixMode::kBatch ? beta(alpha, 1, generator).expand({n}).contiguous()
                                           : beta(alpha, n, generator);
  const at::Tensor apply =
      draw_gate(p, n, generator, mode == MixMode::kBatch ? GateScope::kBatch : GateScope::kImage);
  return at::where(apply, lam, at::ones_like(lam));
}

at::Tensor mix_targets(const at::Tensor& targets, const at::Tensor& lambda,
                       std::int64_t num_classes, double smoothing) {
  const at::Tensor y = soft_targets(targets, num_classes, smoothing);
  const at::Tensor lam = lambda.to(y.device(), y.scalar_type()).view({-1, 1});
  return lam * y + (1 - lam) * y.flip(0);
}

}  // namespace

Mixup::Mixup(MixupOptions options) : options_(options) {
  check_mix_options(options_, "MixupOptions");
}

at::Tensor Mixup::sample(std::int64_t batch_size, at::Generator generator) const {
  return draw_lambda(options_.alpha(), options_.p(), options_.mode(), batch_size, generator);
}

Batch Mixup::apply(Batch batch, const at::Tensor& lambda) const {
  check_mix_batch(batch, options_.num_classes(), "Mixup");
  const at::Tensor& x = batch.images;
  const at::Tensor lam = lambda.to(x.device(), x.scalar_type()).view({-1, 1, 1, 1});
  batch.images = like_input(lam * x + (1 - lam) * x.flip(0), x);
  batch.targets =
      mix_targets(batch.targets, lambda, options_.num_classes(), options_.label_smoothing());
  return batch;
}

Batch Mixup::operator()(Batch batch, at::Generator generator) const {
  check_images(batch.images, "Mixup");
  const at::Tensor lambda = sample(batch.images.size(0), generator);
  return apply(std::move(batch), lambda);
}

CutMix::CutMix(CutMixOptions options) : options_(options) {
  check_mix_options(options_, "CutMixOptions");
}

Boxes CutMix::draw(const at::Tensor& images, const at::Tensor& lambda, const Keep* keep,
                   const at::Tensor& saliency, at::Generator& generator) const {
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  const at::Tensor active = lambda.lt(1);
  const at::Tensor hs = cutmix_box_sides(lambda, h), ws = cutmix_box_sides(lambda, w);
  at::Tensor pos = cut_positions(keep, saliency, images, hs, ws, Placement::kCentered, generator);
  // timm's batch mode places one box for the whole batch (KeepCutMix: one per image).
  if (options_.mode() == MixMode::kBatch && keep == nullptr)
    pos = pos.narrow(0, 0, 1).expand({n, 2});
  const at::Device device = images.device();
  const Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), hs.to(device), ws.to(device),
                               Placement::kCentered, h, w);
  return empty_unless(boxes, active.to(device));
}

Boxes CutMix::sample(const at::Tensor& images, at::Generator generator) const {
  check_images(images, "CutMix");
  const at::Tensor lambda =
      draw_lambda(options_.alpha(), options_.p(), options_.mode(), images.size(0), generator);
  return draw(images, lambda, nullptr, {}, generator);
}

Batch CutMix::apply(Batch batch, const Boxes& boxes) const {
  check_mix_batch(batch, options_.num_classes(), "CutMix");
  const at::Tensor& x = batch.images;
  const auto h = x.size(2), w = x.size(3);
  const at::Tensor mask = box_mask(boxes, h, w);
  batch.images = like_input(at::where(mask, x.flip(0), x), x);
  const at::Tensor pasted = mask.flatten(1).sum(1).to(at::kDouble).cpu();
  batch.targets = mix_targets(batch.targets, 1 - pasted / static_cast<double>(h * w),
                              options_.num_classes(), options_.label_smoothing());
  return batch;
}

Batch CutMix::operator()(Batch batch, at::Generator generator) const {
  const Boxes boxes = sample(batch.images, generator);
  return apply(std::move(batch), boxes);
}

KeepCutMix::KeepCutMix(CutMixOptions options, SaliencyFn saliency, KeepOptions keep)
    : cutmix_(options), keep_(std::move(saliency), keep, "KeepCutMix") {}

Boxes KeepCutMix::sample(const at::Tensor& images, const at::Tensor& targets,
                         at::Generator generator, const at::Tensor& saliency) const {
  const auto& o = cutmix_.options();
  // The targets are checked before the saliency function reads them.
  if (targets.defined()) {
    check_mix_batch(Batch{images, targets}, o.num_classes(), "KeepCutMix");
  } else {
    check_images(images, "KeepCutMix");
  }
  const at::Tensor lambda = draw_lambda(o.alpha(), o.p(), o.mode(), images.size(0), generator);
  return cutmix_.draw(images, lambda, &keep_, keep_.saliency(images, targets, saliency), generator);
}

Batch KeepCutMix::apply(Batch batch, const Boxes& boxes) const {
  return cutmix_.apply(std::move(batch), boxes);
}

Batch KeepCutMix::operator()(Batch batch, at::Generator generator) const {
  const Boxes boxes = sample(batch.images, batch.targets, generator);
  return apply(std::move(batch), boxes);
}

MixupOrCutMix::MixupOrCutMix(MixupOrCutMixOptions options)
    : options_(options),
      mixup_(MixupOptions(options.num_classes())
                 .alpha(options.mixup_alpha())
                 .p(options.p())
                 .label_smoothing(options.label_smoothing())),
      cutmix_(CutMixOptions(options.num_classes())
                  .alpha(options.cutmix_alpha())
                  .p(options.p())
                  .label_smoothing(options.label_smoothing())) {
  if (!(options_.switch_prob() >= 0 && options_.switch_prob() <= 1)) {
    throw OptionError("MixupOrCutMixOptions", "switch_prob",
                      fmt::format("{} is outside [0, 1]", options_.switch_prob()));
  }
}

Batch MixupOrCutMix::operator()(Batch batch, at::Generator generator) const {
  check_images(batch.images, "MixupOrCutMix");
  const auto n = batch.images.size(0);
  const bool cutmix = at::rand({1}, generator, at::kDouble).item<double>() < options_.switch_prob();
  const at::Tensor lambda = draw_lambda(cutmix ? options_.cutmix_alpha() : options_.mixup_alpha(),
                                        options_.p(), MixMode::kBatch, n, generator);
  if (!cutmix) return mixup_.apply(std::move(batch), lambda);
  const Boxes boxes = cutmix_.draw(batch.images, lambda, nullptr, {}, generator);
  return cutmix_.apply(std::move(batch), boxes);
}

at::Tensor soft_targets(const at::Tensor& targets, std::int64_t num_classes, double smoothing) {
  if (targets.dim() == 2) return targets;
  const double off = smoothing / static_cast<double>(num_classes);
  at::Tensor y = at::full({targets.size(0), num_classes}, off, targets.options().dtype(at::kFloat));
  return y.scatter_(1, targets.view({-1, 1}), 1.0 - smoothing + off);
}

at::Tensor cutmix_box_sides(const at::Tensor& lambda, std::int64_t side) {
  return (at::sqrt(1 - lambda) * static_cast<double>(side)).floor().to(at::kLong);
}

}  // namespace augcore::augment

#include "augcore/augment/mix.h"

#include <ATen/ATen.h>

#include "augcore/augment/keep.h"
#include "augcore/augment/regions.h"

namespace augcore::augment {
namespace {

enum class MixMode { kBatch, kElem };

MixMode parse_mix_mode(const std::string& s) {
  return s == "elem" ? MixMode::kElem : MixMode::kBatch;
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
  const at::Tensor apply = mode == MixMode::kBatch
                               ? at::empty({1}, at::kDouble).bernoulli_(p, generator).expand({n})
                               : at::empty({n}, at::kDouble).bernoulli_(p, generator);
  return at::where(apply.to(at::kBool), lam, at::ones_like(lam));
}

void mix_targets(PolicyBatch& batch, const at::Tensor& lambda, double smoothing) {
  const at::Tensor y = soft_targets(batch.targets, batch.num_classes, smoothing);
  const at::Tensor lam = lambda.to(y.device(), y.scalar_type()).view({-1, 1});
  batch.targets = lam * y + (1 - lam) * y.flip(0);
}

void apply_mixup(PolicyBatch& batch, const at::Tensor& lambda, double smoothing) {
  const at::Tensor lam =
      lambda.to(batch.images.device(), batch.images.scalar_type()).view({-1, 1, 1, 1});
  batch.images = lam * batch.images + (1 - lam) * batch.images.flip(0);
  mix_targets(batch, lambda, smoothing);
}

// Pastes the mirror image's box into each image; lambda from the actual (clipped) area.
void apply_cutmix(PolicyBatch& batch, StepContext& context, const at::Tensor& lambda, MixMode mode,
                  const Keep* keep, double smoothing) {
  const auto n = batch.images.size(0), h = batch.images.size(2), w = batch.images.size(3);
  const at::Tensor active = lambda.lt(1);
  const at::Tensor hs = cutmix_box_sides(lambda, h), ws = cutmix_box_sides(lambda, w);
  at::Tensor pos = cut_positions(keep, batch, context, hs, ws, Placement::kCentered);
  // timm's batch mode places one box for the whole batch (KeepCutMix: one per image).
  if (mode == MixMode::kBatch && keep == nullptr) pos = pos.narrow(0, 0, 1).expand({n, 2});
  const at::Device device = batch.images.device();
  const Boxes boxes = boxes_at(pos.select(1, 0), pos.select(1, 1), hs.to(device), ws.to(device),
                               Placement::kCentered, h, w);
  const at::Tensor mask = box_mask(boxes, h, w).logical_and(active.to(device).view({-1, 1, 1, 1}));
  batch.images = at::where(mask, batch.images.flip(0), batch.images);
  const at::Tensor pasted = mask.flatten(1).sum(1).to(at::kDouble).cpu();
  mix_targets(batch, 1 - pasted / static_cast<double>(h * w), smoothing);
}

class Mixup : public BatchPolicy {
 public:
  Mixup(double alpha, double p, MixMode mode, double smoothing)
      : alpha_(alpha), p_(p), mode_(mode), smoothing_(smoothing) {}
  void apply(PolicyBatch& batch, StepContext& context) override {
    const auto n = batch.images.size(0);
    apply_mixup(batch, draw_lambda(alpha_, p_, mode_, n, context.generator), smoothing_);
  }

 private:
  double alpha_, p_;
  MixMode mode_;
  double smoothing_;
};

class CutMix : public BatchPolicy {
 public:
  CutMix(double alpha, double p, MixMode mode, double smoothing, std::shared_ptr<const Keep> keep)
      : alpha_(alpha), p_(p), mode_(mode), smoothing_(smoothing), keep_(std::move(keep)) {}
  void apply(PolicyBatch& batch, StepContext& context) override {
    const auto n = batch.images.size(0);
    apply_cutmix(batch, context, draw_lambda(alpha_, p_, mode_, n, context.generator), mode_,
                 keep_.get(), smoothing_);
  }

 private:
  double alpha_, p_;
  MixMode mode_;
  double smoothing_;
  std::shared_ptr<const Keep> keep_;
};

// timm/DeiT: per batch, CutMix with probability switch_prob, else Mixup.
class Mix : public BatchPolicy {
 public:
  Mix(double mixup_alpha, double cutmix_alpha, double switch_prob, double p, double smoothing)
      : mixup_alpha_(mixup_alpha),
        cutmix_alpha_(cutmix_alpha),
        switch_prob_(switch_prob),
        p_(p),
        smoothing_(smoothing) {}
  void apply(PolicyBatch& batch, StepContext& context) override {
    const auto n = batch.images.size(0);
    const bool cutmix = at::rand({1}, context.generator, at::kDouble).item<double>() < switch_prob_;
    const at::Tensor lam = draw_lambda(cutmix ? cutmix_alpha_ : mixup_alpha_, p_, MixMode::kBatch,
                                       n, context.generator);
    if (cutmix) {
      apply_cutmix(batch, context, lam, MixMode::kBatch, nullptr, smoothing_);
    } else {
      apply_mixup(batch, lam, smoothing_);
    }
  }

 private:
  double mixup_alpha_, cutmix_alpha_, switch_prob_, p_, smoothing_;
};

config::Schema mixup_schema() {
  config::Schema s;
  s.add_float("alpha", 1.0, "lambda ~ Beta(alpha, alpha)").range(1e-6, 1e6);
  s.add_float("p", 1.0, "probability of mixing (per batch, or per image in elem mode)").range(0, 1);
  s.add_choice("mode", "batch", {"batch", "elem"}, "one lambda per batch, or one per image");
  return s;
}

config::Schema mix_schema() {
  config::Schema s;
  s.add_float("mixup_alpha", 0.8, "Mixup's Beta parameter (DeiT: 0.8)").range(1e-6, 1e6);
  s.add_float("cutmix_alpha", 1.0, "CutMix's Beta parameter (DeiT: 1.0)").range(1e-6, 1e6);
  s.add_float("switch_prob", 0.5, "probability that a batch uses CutMix rather than Mixup")
      .range(0, 1);
  s.add_float("p", 1.0, "probability of mixing a batch").range(0, 1);
  return s;
}

const bool registered =
    config::register_component(
        "policy", "mixup", "Mixup: blend each image and target with its mirror in the batch",
        mixup_schema(), PolicyFactory([](const config::Options& o, const PolicySetup& s) {
          return std::unique_ptr<BatchPolicy>(std::make_unique<Mixup>(
              o.real("alpha"), o.real("p"), parse_mix_mode(o.string("mode")), s.label_smoothing));
        })) &&
    config::register_component(
        "policy", "cutmix", "CutMix: paste a box of the mirror image, lambda from its area",
        cutmix_schema(), PolicyFactory([](const config::Options& o, const PolicySetup& s) {
          return make_cutmix(o, s, nullptr);
        })) &&
    config::register_component("policy", "mix", "per batch, CutMix or Mixup (timm/DeiT's switch)",
                               mix_schema(),
                               PolicyFactory([](const config::Options& o, const PolicySetup& s) {
                                 return std::unique_ptr<BatchPolicy>(std::make_unique<Mix>(
                                     o.real("mixup_alpha"), o.real("cutmix_alpha"),
                                     o.real("switch_prob"), o.real("p"), s.label_smoothing));
                               }));

}  // namespace

at::Tensor soft_targets(const at::Tensor& targets, std::int64_t num_classes, double smoothing) {
  if (targets.dim() == 2) return targets;
  const double off = smoothing / static_cast<double>(num_classes);
  at::Tensor y = at::full({targets.size(0), num_classes}, off, targets.options().dtype(at::kFloat));
  return y.scatter_(1, targets.view({-1, 1}), 1.0 - smoothing + off);
}

at::Tensor cutmix_box_sides(const at::Tensor& lambda, std::int64_t side) {
  return (at::sqrt(1 - lambda) * static_cast<double>(side)).floor().to(at::kLong);
}

config::Schema cutmix_schema() {
  return mixup_schema();
}

std::unique_ptr<BatchPolicy> make_cutmix(const config::Options& o, const PolicySetup& setup,
                                         std::shared_ptr<const Keep> keep) {
  return std::make_unique<CutMix>(o.real("alpha"), o.real("p"), parse_mix_mode(o.string("mode")),
                                  setup.label_smoothing, std::move(keep));
}

}  // namespace augcore::augment

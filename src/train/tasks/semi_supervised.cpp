#include "augcore/train/tasks/semi_supervised.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include "augcore/augment/policy_registry.h"
#include "augcore/core/error.h"
#include "augcore/data/pipeline.h"
#include "augcore/objective/semi_supervised.h"

namespace augcore::train {

config::Schema semi_schema() {
  config::Schema s;
  s.add_choice("method", "none", {"none", "fixmatch", "uda"},
               "semi-supervised training: FixMatch (hard pseudo-labels) or UDA (sharpened "
               "targets, KL); none = supervised");
  s.add_int("ratio", 7, "unlabelled images per labelled one in a step (mu)").range(1, 1024);
  s.add_int("steps_per_epoch", 1024,
            "optimizer steps per epoch (the labelled set is repeated to fill them, as FixMatch "
            "does)")
      .range(1, 1 << 30);
  s.add_float("threshold", 0.95,
              "confidence a weak-view prediction needs for its image to count (FixMatch 0.95, "
              "UDA 0.8)")
      .range(0, 1);
  s.add_float("weight", 1.0, "weight of the unlabelled loss (lambda_u)").range(0, 1e6);
  s.add_float("temperature", 0.4, "UDA: sharpening temperature of the weak-view target")
      .range(1e-6, 100);
  s.add_choice("tsa", "none", {"none", "linear", "log", "exp"},
               "UDA: training-signal annealing of the labelled loss");
  s.add_component_list("strong", "policy",
                       "batch policies that turn a weak view into the strong one (e.g. "
                       "randaugment + cutout, mra, keep_randaugment)");
  return s;
}

bool semi_supervised(const config::Options& root) {
  return root.section("semi").string("method") != "none";
}

namespace {

// The recipe's semi.tsa: none, or a schedule.
std::optional<objective::TsaSchedule> tsa_schedule(const std::string& name) {
  if (name == "linear") return objective::TsaSchedule::kLinear;
  if (name == "log") return objective::TsaSchedule::kLog;
  if (name == "exp") return objective::TsaSchedule::kExp;
  return std::nullopt;
}

at::Tensor to_pixels(const at::Tensor& uint8_images, const at::Device& device) {
  return uint8_images.to(device, true).to(at::kFloat).div_(255.0);
}

}  // namespace

SemiSupervisedObjective::SemiSupervisedObjective(const config::Options& semi,
                                                 const config::Options& data,
                                                 objective::Criterion criterion,
                                                 const SemiSetup& setup,
                                                 std::int64_t batches_per_epoch)
    : uda_method_(semi.string("method") == "uda"),
      fixmatch_(objective::FixMatchOptions()
                    .threshold(semi.real("threshold"))
                    .weight(semi.real("weight"))),
      uda_(objective::UdaOptions()
               .threshold(semi.real("threshold"))
               .weight(semi.real("weight"))
               .temperature(semi.real("temperature"))),
      tsa_(tsa_schedule(semi.string("tsa"))),
      criterion_(std::move(criterion)),
      setup_(setup),
      batches_per_epoch_(batches_per_epoch) {
  if (data.is_null("unlabelled")) {
    throw ConfigError(data.path() + ".unlabelled: semi.method " + semi.string("method") +
                      " needs an unlabelled dataset");
  }
  if (tsa_ && !uda_method_) {
    throw ConfigError(semi.path() + ".tsa: training-signal annealing belongs to UDA (method uda)");
  }
  if (criterion_.binary()) {
    throw ConfigError(semi.path() + ".method: " + semi.string("method") +
                      " trains with cross-entropy; loss.kind bce is not supported with it");
  }
  data::LoaderShape shape;
  shape.batch_size = semi.integer("ratio") * setup.batch_size;
  shape.views = 2;
  const std::uint64_t seed =
      data::Rng::derive({setup.seed, static_cast<std::uint64_t>(data::Stream::kUnlabelled)}).next();
  loader_ = data::make_loader(data, data::Split::kUnlabelled, seed, setup.shard, shape);
  if (loader_->batches_per_epoch() == 0) {
    throw ConfigError(
        fmt::format("semi.ratio: {} x {} unlabelled images per step is more than the {} of {}",
                    semi.integer("ratio"), setup.batch_size, loader_->samples_per_epoch(),
                    data.path() + ".unlabelled"));
  }
  strong_ = augment::make_policies(semi.components("strong"), setup.policies);
}

SemiSupervisedObjective::~SemiSupervisedObjective() = default;

std::vector<std::pair<std::string, const augment::BatchPolicy*>> SemiSupervisedObjective::policies()
    const {
  std::vector<std::pair<std::string, const augment::BatchPolicy*>> out;
  for (std::size_t i = 0; i < strong_.size(); ++i)
    out.emplace_back("semi.strong[" + std::to_string(i) + "]", strong_[i].get());
  return out;
}

void SemiSupervisedObjective::start_epoch(std::int64_t epoch, std::int64_t first_batch) {
  const auto per_pass = static_cast<std::int64_t>(loader_->batches_per_epoch());
  const std::int64_t g = epoch * batches_per_epoch_ + first_batch;
  pass_ = g / per_pass;
  loader_->start_epoch(pass_, g % per_pass);
}

objective::ObjectiveResult SemiSupervisedObjective::compute(models::ClassifierImpl& model,
                                                            const at::Tensor& images,
                                                            const at::Tensor& targets,
                                                            objective::ObjectiveContext& context) {
  auto batch = loader_->next();
  if (!batch) {
    loader_->start_epoch(++pass_, 0);
    batch = loader_->next();
  }
  const at::Device device = images.device();
  const auto normalise = [&](const at::Tensor& pixels) {
    at::Tensor x = (pixels - setup_.mean).div_(setup_.std);
    return setup_.channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
  };
  const at::Tensor weak = normalise(to_pixels(batch->images, device));
  const at::Tensor truth = batch->labels.to(device, true);  // -1 where the image has no label
  // No labels for the strong view: KeepAugment's saliency then follows the predicted class, as
  // its UDA experiment does, and no policy can see the unlabelled images' true labels.
  augment::PolicyBatch strong{to_pixels(batch->views.at(0), device), at::Tensor(),
                              setup_.policies.num_classes};
  augment::StepContext step{augment::step_generator(setup_.seed, context.epoch, context.batch,
                                                    data::Stream::kStrongView, setup_.rank),
                            context.epoch, context.step, &model};
  for (auto& policy : strong_)
    policy->apply(strong, step);

  const std::int64_t n = images.size(0), u = weak.size(0);
  const at::Tensor logits = model.forward(at::cat({images, weak, normalise(strong.images)}));
  objective::ObjectiveResult r;
  r.logits = logits.narrow(0, 0, n);
  const at::Tensor weak_logits = logits.narrow(0, n, u), strong_logits = logits.narrow(0, n + u, u);

  at::Tensor labelled;
  if (!tsa_) {
    labelled = criterion_(r.logits, targets);
  } else {
    if (targets.dim() != 1) {
      throw ConfigError("semi.tsa: annealing needs hard labels; a policy in `policies` mixes them");
    }
    const double progress = static_cast<double>(context.step) /
                            static_cast<double>(std::max<std::int64_t>(1, setup_.total_steps));
    labelled = objective::annealed_cross_entropy(
        r.logits, targets, objective::tsa_threshold(*tsa_, progress, r.logits.size(1)));
  }
  const objective::UnlabelledLoss unlabelled =
      uda_method_ ? objective::uda_loss(weak_logits, strong_logits, uda_)
                  : objective::fixmatch_loss(weak_logits, strong_logits, fixmatch_);
  r.loss = labelled + unlabelled.loss;
  r.metrics["train_loss_labelled"] = labelled.detach();
  r.metrics["train_loss_unlabelled"] = unlabelled.loss.detach();
  r.metrics["mask_rate"] = unlabelled.mask.mean();
  const at::Tensor known = truth.ge(0).to(at::kFloat) * unlabelled.mask;
  r.ratios["pseudo_label_top1"] = {
      (unlabelled.pseudo_labels.eq(truth).to(at::kFloat) * known).sum().mul(100.0), known.sum()};
  return r;
}

}  // namespace augcore::train

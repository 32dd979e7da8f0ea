#include "augcore/train/tasks/classification_task.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include "augcore/augment/policy_registry.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/data/pipeline.h"
#include "augcore/data/subset.h"
#include "augcore/eval/long_tail.h"
#include "augcore/objective/objective_registry.h"
#include "augcore/train/tasks/evaluate.h"
#include "augcore/train/tasks/recipe.h"

namespace augcore::train {

namespace {

// The fingerprint part of a policy identity ("path fingerprint").
std::string fingerprint_of(const std::string& identity) {
  const auto space = identity.rfind(' ');
  return space == std::string::npos ? identity : identity.substr(space + 1);
}

}  // namespace

ClassificationTask::ClassificationTask(const config::Config& config)
    : config_(config),
      root_(config.root()),
      data_cfg_(root_.section("data")),
      train_cfg_(root_.section("train")) {}

config::Schema ClassificationTask::schema() const {
  return recipe_schema();
}

void ClassificationTask::build(const TaskSetup& setup) {
  setup_ = setup;
  binary_targets_ = root_.section("loss").boolean("binary_targets");
  train_loader_ =
      data::make_loader(data_cfg_, data::Split::kTrain, setup.seed, setup.shard, labelled_shape());
  if (!data_cfg_.is_null("val")) {
    val_loader_ = data::make_loader(data_cfg_, data::Split::kVal, setup.seed, setup.shard);
    notes_.push_back("evaluated on " + val_loader_->dataset().description());
  }
  shape_ = train_loader_->sample_shape();
  if (shape_[1] != shape_[2]) {
    notes_.push_back(
        fmt::format("note: training images are {}x{} (not square)", shape_[1], shape_[2]));
  }
  num_classes_ = train_loader_->dataset().num_classes();
  model_ = recipe_classifier(root_, shape_, num_classes_);
  model_->to(setup.device);
  std::tie(mean_, std_) = data::normalisation(data_cfg_, shape_[0], setup.device);
  if (train_cfg_.boolean("shot_accuracy")) {
    train_counts_ = data::class_counts(train_loader_->dataset());
  }
  policy_setup_ = recipe_policy_setup(root_, shape_, num_classes_, setup.device, model_.get());
  policies_ = augment::make_policies(root_.components("policies"), policy_setup_);
  for (std::size_t i = 0; i < policies_.size(); ++i)
    named_policies_.emplace_back("policies[" + std::to_string(i) + "]", policies_[i].get());
  objective_ = make_objective(named_policies_);
  objective_->check(*model_, shape_[1], shape_[2]);
}

std::unique_ptr<objective::Objective> ClassificationTask::make_objective(NamedPolicies&) {
  return objective::make_objective(root_.component("objective"),
                                   objective::make_criterion(root_.section("loss")));
}

std::shared_ptr<torch::nn::Module> ClassificationTask::make_shadow() {
  shadow_ = recipe_classifier(root_, shape_, num_classes_);
  shadow_->to(setup_.device);
  return shadow_;
}

std::string ClassificationTask::describe() const {
  std::int64_t params = 0;
  for (const auto& p : model_->parameters())
    params += p.numel();
  return fmt::format("model {} ({:.2f}M parameters)", root_.component("model").name, params / 1e6);
}

void ClassificationTask::start_epoch(std::int64_t epoch, std::int64_t first_batch) {
  objective_->start_epoch(epoch, first_batch);
}

StepInputs ClassificationTask::inputs(const data::Batch& b, StepContext& context) {
  augment::PolicyBatch pb{b.images.to(setup_.device, true).to(at::kFloat).div_(255.0),
                          b.labels.to(setup_.device, true), num_classes_};
  if (!policies_.empty()) {
    augment::StepContext policy_context{context.generator(data::Stream::kTrainStep), context.epoch,
                                        context.step, model_.get()};
    for (auto& policy : policies_)
      policy->apply(pb, policy_context);
  }
  at::Tensor x = (pb.images - mean_).div_(std_);
  if (setup_.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor y = binary_targets_ && pb.targets.is_floating_point()
                           ? pb.targets.gt(0).to(pb.targets.scalar_type())
                           : pb.targets;
  return {x, y};
}

StepOutput ClassificationTask::compute(StepInputs& in, StepContext& context) {
  objective::ObjectiveContext objective_context{context.generator(data::Stream::kObjective),
                                                context.backward, context.epoch, context.batch,
                                                context.step};
  auto r = objective_->compute(*model_, in.images, in.targets, objective_context);
  const at::Tensor labels = in.targets.dim() == 1 ? in.targets : in.targets.argmax(1);
  StepOutput out{r.loss, r.backward_loss, {}, std::move(r.metrics), std::move(r.ratios)};
  out.counts.emplace("correct", r.logits.argmax(1).eq(labels).sum());
  return out;
}

void ClassificationTask::report_training(EpochReport& report) {
  const auto& sums = *report.sums;
  const double top1 = 100.0 * sums.at("correct") / sums.at("seen");
  report.figures.emplace_back("train_top1", top1);
  report.line += fmt::format(" top-1 {:.2f}%", top1);
}

// Each rank evaluates its slices of the validation batches; the totals are summed once.
EvalResult ClassificationTask::evaluate(models::ClassifierImpl& model) {
  EvalSetup setup;
  setup.mean = mean_;
  setup.std = std_;
  setup.device = setup_.device;
  setup.channels_last = setup_.channels_last;
  setup.num_classes = train_counts_.empty() ? 0 : num_classes_;
  DataParallel* parallel = setup_.parallel;
  setup.combine = [parallel](const std::map<std::string, double>& local) {
    return parallel->sum(local, "all_reduce(evaluation totals)");
  };
  return train::evaluate(model, *val_loader_, setup);
}

void ClassificationTask::end_epoch(EpochReport& report) {
  const bool evaluate_now =
      val_loader_ && ((report.epoch + 1) % train_cfg_.integer("eval_every") == 0 || report.last);
  if (!evaluate_now) return;
  RunSummary& summary = *report.summary;
  summary.last = evaluate(*model_);
  report.figures.insert(report.figures.end(), {{"val_loss", summary.last.loss},
                                               {"val_top1", summary.last.top1},
                                               {"val_top5", summary.last.top5}});
  report.line += fmt::format(" | val loss {:.4f} top-1 {:.2f}% top-5 {:.2f}%", summary.last.loss,
                             summary.last.top1, summary.last.top5);
  if (!train_counts_.empty()) {
    const auto shots =
        eval::shot_accuracy(train_counts_, summary.last.class_images, summary.last.class_hits);
    report.figures.insert(report.figures.end(), {{"val_many_shot_top1", shots.many.accuracy},
                                                 {"val_medium_shot_top1", shots.medium.accuracy},
                                                 {"val_few_shot_top1", shots.few.accuracy}});
    report.line += fmt::format(" (many {:.2f}% / medium {:.2f}% / few {:.2f}%)",
                               shots.many.accuracy, shots.medium.accuracy, shots.few.accuracy);
  }
  if (report.ema && train_cfg_.boolean("eval_ema")) {
    summary.last_ema = evaluate(*shadow_);
    report.figures.emplace_back("ema_val_top1", summary.last_ema->top1);
    report.line += fmt::format(" | EMA top-1 {:.2f}%", summary.last_ema->top1);
  }
  report.score = summary.last.top1;
}

void ClassificationTask::evaluate_only(RunSummary& summary) {
  if (!val_loader_) throw ConfigError("data.val: --eval-only needs a validation dataset");
  summary.last = evaluate(*model_);
  if (setup_.parallel->writer()) {
    fmt::print("eval: loss {:.4f} top-1 {:.2f}% top-5 {:.2f}% ({} images)\n", summary.last.loss,
               summary.last.top1, summary.last.top5, summary.last.images);
  }
}

Record ClassificationTask::summary_figures(const RunSummary& summary) const {
  Record figures{{"val_top1", summary.last.top1},
                 {"val_top5", summary.last.top5},
                 {"best_val_top1", summary.best_top1}};
  if (summary.last_ema) figures.emplace_back("ema_val_top1", summary.last_ema->top1);
  return figures;
}

void ClassificationTask::save_head(c10::impl::GenericDict& ckpt, const Progress& progress) const {
  auto scheduler = pth::new_dict();
  scheduler.insert("step", progress.step);
  ckpt.insert("scheduler", scheduler);
}

void ClassificationTask::save_tail(c10::impl::GenericDict& ckpt) const {
  auto rng = pth::new_dict();
  rng.insert("seed", static_cast<std::int64_t>(setup_.seed));
  rng.insert("scheme", std::string("every stream derives from (seed, stream, epoch, batch)"));
  ckpt.insert("rng", rng);
  c10::impl::GenericList augmentors(c10::StringType::get());
  for (const auto& p : named_policies_)
    augmentors.push_back(p.second->identity());
  ckpt.insert("policy_inputs", augmentors);
}

void ClassificationTask::restore(const c10::impl::GenericDict& ckpt, const std::string& path) {
  if (!ckpt.contains("policy_inputs")) return;
  const c10::IValue inputs = entry(ckpt, "policy_inputs", path);
  if (!inputs.isList() || inputs.toListRef().size() != named_policies_.size()) {
    throw DataError(path + ": checkpoint entry 'policy_inputs' does not match the policies");
  }
  for (std::size_t i = 0; i < named_policies_.size(); ++i) {
    const c10::IValue& saved = inputs.toListRef()[i];
    const std::string now = named_policies_[i].second->identity();
    if (!saved.isString()) throw DataError(path + ": damaged 'policy_inputs' entry");
    if (fingerprint_of(saved.toStringRef()) != fingerprint_of(now)) {
      throw ConfigError(named_policies_[i].first + ".checkpoint: " + now +
                        " differs from the augmentor the run was trained with (" +
                        saved.toStringRef() + " in " + path + ")");
    }
  }
}

}  // namespace augcore::train

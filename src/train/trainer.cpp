#include "augcore/train/trainer.h"

#include <ATen/ATen.h>
#include <fmt/core.h>
#include <torch/nn/utils/clip_grad.h>

#include <thread>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "augcore/augment/policy.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/data/subset.h"
#include "augcore/dist/launch.h"
#include "augcore/dist/process_group.h"
#include "augcore/eval/long_tail.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/objective/objective.h"
#include "augcore/train/amp.h"
#include "augcore/train/checkpoint.h"
#include "augcore/train/data_parallel.h"
#include "augcore/train/device_totals.h"
#include "augcore/train/ema.h"
#include "augcore/train/evaluate.h"
#include "augcore/train/metrics_log.h"
#include "augcore/train/optimizer.h"
#include "augcore/train/recipe.h"
#include "augcore/train/run_dir.h"
#include "augcore/train/run_log.h"
#include "augcore/train/schedule.h"
#include "augcore/train/semi_supervised.h"
#include "augcore/train/stop_signal.h"

namespace augcore::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Sums = std::map<std::string, double>;

namespace {

at::Tensor to_pixels(const at::Tensor& uint8_images) {
  return uint8_images.to(at::kFloat).div_(255.0);
}

// Everything a resumed run needs to continue exactly where this one stands.
struct TrainState {
  models::ClassifierImpl* model;
  torch::optim::Optimizer* optimizer;
  ModelEma* ema;
  LossScaler* scaler;
  // Every batch policy with the recipe path that names it (policies[i], semi.strong[i]).
  std::vector<std::pair<std::string, const augment::BatchPolicy*>> policies;
  const config::Config* config;
  std::uint64_t seed;
};

void save_checkpoint(const std::string& path, const TrainState& s, const Progress& progress) {
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(*s.model));
  ckpt.insert("optimizer", optimizer_state(*s.optimizer));
  auto scheduler = pth::new_dict();
  scheduler.insert("step", progress.step);
  ckpt.insert("scheduler", scheduler);
  if (s.ema) ckpt.insert("ema", models::state_dict_ivalue(s.ema->model()));
  if (s.scaler) {
    auto scaler = pth::new_dict();
    scaler.insert("scale", s.scaler->value());
    scaler.insert("clean_steps", s.scaler->clean_steps());
    ckpt.insert("scaler", scaler);
  }
  put_progress(ckpt, progress);
  auto rng = pth::new_dict();
  rng.insert("seed", static_cast<std::int64_t>(s.seed));
  rng.insert("scheme", std::string("every stream derives from (seed, stream, epoch, batch)"));
  ckpt.insert("rng", rng);
  c10::impl::GenericList augmentors(c10::StringType::get());
  for (const auto& p : s.policies)
    augmentors.push_back(p.second->identity());
  ckpt.insert("policy_inputs", augmentors);
  ckpt.insert("config", s.config->to_yaml());
  ckpt.insert("format", std::string("augcore-checkpoint-2"));
  pth::save(ckpt, path);
}

// The fingerprint part of a policy identity ("path fingerprint").
std::string fingerprint_of(const std::string& identity) {
  const auto space = identity.rfind(' ');
  return space == std::string::npos ? identity : identity.substr(space + 1);
}

// Restores what save_checkpoint wrote; throws DataError/ConfigError when the checkpoint does
// not belong to this recipe.
Progress restore_checkpoint(const std::string& path, const c10::impl::GenericDict& ckpt,
                            const TrainState& s) {
  if (ckpt.contains("config"))
    check_resumable(string_entry(ckpt, "config", path), *s.config, path, recipe_schema());
  if (ckpt.contains("policy_inputs")) {
    const c10::IValue inputs = entry(ckpt, "policy_inputs", path);
    if (!inputs.isList() || inputs.toListRef().size() != s.policies.size()) {
      throw DataError(path + ": checkpoint entry 'policy_inputs' does not match the policies");
    }
    for (std::size_t i = 0; i < s.policies.size(); ++i) {
      const c10::IValue& saved = inputs.toListRef()[i];
      const std::string now = s.policies[i].second->identity();
      if (!saved.isString()) throw DataError(path + ": damaged 'policy_inputs' entry");
      if (fingerprint_of(saved.toStringRef()) != fingerprint_of(now)) {
        throw ConfigError(s.policies[i].first + ".checkpoint: " + now +
                          " differs from the augmentor the run was trained with (" +
                          saved.toStringRef() + " in " + path + ")");
      }
    }
  }
  try {
    load_optimizer_state(*s.optimizer, entry(ckpt, "optimizer", path));
  } catch (const DataError& e) {
    throw DataError(path + ": " + e.what());
  }
  if (s.ema && ckpt.contains("ema")) {
    const auto r = models::load_state_dict(s.ema->model(), dict_entry(ckpt, "ema", path), true);
    if (!r.ok()) throw DataError(path + ": EMA weights do not fit: " + r.describe());
  }
  if (s.scaler && ckpt.contains("scaler")) {
    const auto d = dict_entry(ckpt, "scaler", path);
    s.scaler->restore(real_entry(d, "scale", path), int_entry(d, "clean_steps", path));
  }
  return read_progress(ckpt, path);
}

// A training run: the parts the recipe builds, then epochs of micro-steps and optimizer steps,
// evaluation and checkpoints. Data parallelism is one more part (`parallel_`), which does
// nothing with one process.
class TrainingRun {
 public:
  TrainingRun(const config::Config& config, const RunOptions& options,
              const dist::LaunchInfo& launch)
      : config_(config),
        options_(options),
        launch_(launch),
        root_(config.root()),
        data_cfg_(root_.section("data")),
        train_cfg_(root_.section("train")) {}
  RunSummary run();

 private:
  // One epoch's running figures.
  struct Epoch {
    std::int64_t index = 0, first_batch = 0, step = 0, micro = 0;
    Clock::time_point t0;
    std::unique_ptr<DeviceTotals> totals;
    Sums sums;
    double seen_here = 0;
    std::unique_ptr<DeviceTotals> step_loss;
  };

  void select_device_and_threads();  // and joins the job
  void build();
  // The semi-supervised objective (semi.method set); its strong-view policies join `inputs`.
  void build_semi_supervised(
      const data::Shard& shard, const augment::PolicySetup& setup,
      std::vector<std::pair<std::string, const augment::BatchPolicy*>>& inputs);
  void resume();
  void open_outputs();
  void train_epoch(std::int64_t epoch);
  void micro_step(Epoch& e, const data::Batch& b);
  void optimizer_step(Epoch& e);
  void read_totals(Epoch& e);
  void end_epoch(Epoch& e);
  void save(const Progress& progress);
  EvalResult evaluate(models::ClassifierImpl& model);
  RunSummary finish();

  const config::Config& config_;
  const RunOptions& options_;
  const dist::LaunchInfo launch_;
  config::Options root_, data_cfg_, train_cfg_;
  at::Device device_ = at::kCPU;
  std::string amp_;
  bool channels_last_ = false;
  bool binary_targets_ = false;  // loss.binary_targets (DeiT-III's BCE)
  std::uint64_t seed_ = 0;
  bool resume_here_ = false;
  std::string free_space_;
  std::vector<std::string> notes_;

  std::unique_ptr<dist::Group> group_;
  std::unique_ptr<DataParallel> parallel_;
  std::unique_ptr<data::Loader> train_loader_, val_loader_;
  models::ModelShape model_shape_{};
  std::array<std::int64_t, 3> shape_{};
  std::shared_ptr<models::ClassifierImpl> model_;
  at::Tensor mean_, std_;
  std::int64_t accum_ = 1, batch_ = 0, batches_ = 0, steps_per_epoch_ = 0, epochs_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<objective::Objective> objective_;
  std::unique_ptr<ModelEma> ema_;
  std::vector<std::unique_ptr<augment::BatchPolicy>> policies_;
  std::unique_ptr<LossScaler> scaler_;
  std::unique_ptr<TrainState> state_;
  std::vector<std::int64_t> train_counts_;  // per class, with train.shot_accuracy

  Progress progress_;
  std::string resume_path_;
  RunSummary summary_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<MetricsLog> metrics_;
  std::string last_path_, best_path_;
  double clip_ = 0;
  std::int64_t log_every_ = 1, checkpoint_every_ = 0;
  double total_images_ = 0, total_seconds_ = 0;
  std::int64_t step_ = 0;
  double best_top1_ = -1;
  std::unique_ptr<StopSignal> stop_;
};

void TrainingRun::select_device_and_threads() {
  device_ = select_device(root_.string("device"));
  group_ = join_job(launch_, root_, device_);
  parallel_ = std::make_unique<DataParallel>(*group_, data_parallel_options(root_.section("dist")));
  amp_ = train_cfg_.string("amp");
  if (amp_ != "none" && !device_.is_cuda()) {
    throw ConfigError("train.amp: '" + amp_ +
                      "' mixed precision needs a CUDA device; use none on CPU");
  }
  channels_last_ = train_cfg_.boolean("channels_last");
  binary_targets_ = root_.section("loss").boolean("binary_targets");
  if (train_cfg_.boolean("deterministic")) use_deterministic_algorithms();
  seed_ = static_cast<std::uint64_t>(root_.integer("seed"));
  at::manual_seed(seed_);
  std::int64_t threads = root_.integer("threads");
  if (threads == 0 && launch_.local_world_size > 1) {
    // The processes of one node share its cores.
    threads =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::thread::hardware_concurrency()) /
                                      launch_.local_world_size);
  }
  configure_threads(threads, root_.boolean("flush_denormal"));
}

void TrainingRun::build() {
  const data::Shard shard{group_->rank(), group_->world_size()};
  const bool semi = semi_supervised(root_);
  accum_ = train_cfg_.integer("accum_steps");
  data::LoaderShape labelled;
  if (semi) {
    // FixMatch's epochs are a number of steps; a small labelled set is repeated to fill them.
    labelled.min_samples = static_cast<std::size_t>(
        root_.section("semi").integer("steps_per_epoch") * accum_ * batch_);
  }
  train_loader_ = data::make_loader(data_cfg_, data::Split::kTrain, seed_, shard, labelled);
  if (!data_cfg_.is_null("val")) {
    val_loader_ = data::make_loader(data_cfg_, data::Split::kVal, seed_, shard);
  }
  shape_ = train_loader_->sample_shape();
  if (shape_[1] != shape_[2]) {
    notes_.push_back(
        fmt::format("note: training images are {}x{} (not square)", shape_[1], shape_[2]));
  }
  model_shape_ = {shape_[0], train_loader_->dataset().num_classes(), shape_[1]};
  model_ = models::make_model(root_.component("model"), model_shape_);
  model_->to(device_);
  if (channels_last_ && !device_.is_cuda()) {
    notes_.push_back("note: train.channels_last only applies on CUDA; ignored on CPU");
    channels_last_ = false;
  }
  if (channels_last_) {
    at::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  std::tie(mean_, std_) = data::normalisation(data_cfg_, shape_[0], device_);
  if (train_cfg_.boolean("shot_accuracy")) {
    train_counts_ = data::class_counts(train_loader_->dataset());
  }

  batches_ = static_cast<std::int64_t>(train_loader_->batches_per_epoch());
  if (semi) batches_ = root_.section("semi").integer("steps_per_epoch") * accum_;
  if (batches_ == 0) {
    throw ConfigError("data.loader.batch_size: " + std::to_string(batch_) + " is more than the " +
                      std::to_string(train_loader_->samples_per_epoch()) +
                      " training samples, and drop_last leaves no batch");
  }
  if (batches_ < accum_) {
    throw ConfigError("train.accum_steps: " + std::to_string(accum_) + " exceeds the " +
                      std::to_string(batches_) + " batches of an epoch");
  }
  steps_per_epoch_ = batches_ / accum_;
  epochs_ = train_cfg_.integer("epochs");
  double base_lr = train_cfg_.real("lr");
  if (train_cfg_.boolean("scale_lr")) base_lr *= static_cast<double>(batch_ * accum_) / 256.0;
  optimizer_ = make_optimizer(root_.component("optimizer"), *model_, base_lr);
  schedule_ = make_schedule(root_.component("schedule"), {base_lr, steps_per_epoch_, epochs_});
  if (!semi) {
    objective_ = objective::make_objective(root_.component("objective"),
                                           objective::make_criterion(root_.section("loss")));
  } else if (root_.component("objective").name != "standard") {
    throw ConfigError("objective: semi.method " + root_.section("semi").string("method") +
                      " trains with the standard objective, not " +
                      root_.component("objective").name);
  }
  if (train_cfg_.section("ema").boolean("enabled")) {
    auto shadow = models::make_model(root_.component("model"), model_shape_);
    shadow->to(device_);
    ema_ = std::make_unique<ModelEma>(shadow, *model_, train_cfg_.section("ema").real("decay"));
  }
  augment::PolicySetup setup;
  setup.device = device_;
  setup.channels = shape_[0];
  setup.height = shape_[1];
  setup.width = shape_[2];
  setup.num_classes = model_shape_.num_classes;
  setup.mean = data_cfg_.reals("mean");
  setup.std = data_cfg_.reals("std");
  setup.label_smoothing = root_.section("loss").real("label_smoothing");
  setup.model = model_.get();
  policies_ = augment::make_policies(root_.components("policies"), setup);
  std::vector<std::pair<std::string, const augment::BatchPolicy*>> inputs;
  for (std::size_t i = 0; i < policies_.size(); ++i)
    inputs.emplace_back("policies[" + std::to_string(i) + "]", policies_[i].get());
  if (semi) build_semi_supervised(shard, setup, inputs);
  objective_->check(*model_, shape_[1], shape_[2]);
  if (amp_ == "fp16") scaler_ = std::make_unique<LossScaler>();
  state_ = std::make_unique<TrainState>(TrainState{model_.get(), optimizer_.get(), ema_.get(),
                                                   scaler_.get(), inputs, &config_, seed_});
}

void TrainingRun::build_semi_supervised(
    const data::Shard& shard, const augment::PolicySetup& setup,
    std::vector<std::pair<std::string, const augment::BatchPolicy*>>& inputs) {
  SemiSetup semi;
  semi.seed = seed_;
  semi.shard = shard;
  semi.batch_size = batch_;
  semi.total_steps = steps_per_epoch_ * epochs_;
  semi.rank = group_->rank();
  semi.mean = mean_;
  semi.std = std_;
  semi.channels_last = channels_last_;
  semi.policies = setup;
  auto objective = std::make_unique<SemiSupervisedObjective>(
      root_.section("semi"), data_cfg_, objective::make_criterion(root_.section("loss")), semi,
      batches_);
  for (const auto& p : objective->policies())
    inputs.push_back(p);
  notes_.push_back("semi-supervised (" + root_.section("semi").string("method") +
                   "): unlabelled data " + objective->unlabelled().description());
  objective_ = std::move(objective);
}

void TrainingRun::resume() {
  resume_path_ = options_.resume;
  if (resume_path_ == "auto") {
    std::vector<std::string> skipped;
    resume_path_ = newest_checkpoint(options_.run_dir, skipped);
    for (const auto& s : skipped)
      notes_.push_back("note: skipped an unreadable checkpoint: " + s);
    notes_.push_back(resume_path_.empty()
                         ? "resume auto: no checkpoint in " + options_.run_dir + ", starting fresh"
                         : "resume auto: newest checkpoint is " + resume_path_);
  }
  if (resume_path_.empty()) return;
  const std::string& path = resume_path_;
  try {
    const auto ckpt = load_checkpoint(path);
    const auto report =
        models::load_state_dict(*model_, models::find_state_dict(c10::IValue(ckpt), path), true);
    if (!report.ok()) throw DataError(path + ": does not fit the model: " + report.describe());
    if (options_.eval_only) return;
    progress_ = restore_checkpoint(path, ckpt, *state_);
    if (progress_.batch > steps_per_epoch_ * accum_) {
      throw DataError(path + ": checkpoint is at batch " + std::to_string(progress_.batch) +
                      " of an epoch that has " + std::to_string(batches_));
    }
  } catch (const c10::Error& e) {
    throw DataError(path + ": damaged checkpoint (" + e.what_without_backtrace() + ")");
  }
}

void TrainingRun::open_outputs() {
  const fs::path dir(options_.run_dir);
  std::vector<std::string> start_lines;
  if (parallel_->writer()) {
    start_lines = open_run_dir(options_.run_dir,
                               RunStart{options_.overwrite, resume_path_, resume_here_,
                                        progress_.epoch, progress_.batch, progress_.step},
                               config_.to_yaml());
  }
  parallel_->barrier("barrier(run directory opened)");
  log_ = std::make_unique<RunLog>((dir / "train.log").string(), !parallel_->writer());
  for (const auto& n : notes_)
    log_->line(n);
  for (const auto& n : start_lines)
    log_->line(n);
  std::int64_t params = 0;
  for (const auto& p : model_->parameters())
    params += p.numel();
  log_->line(fmt::format(
      "model {} ({:.2f}M parameters) on {}, {} threads; data {}; {} steps/epoch; {} ({})",
      root_.component("model").name, params / 1e6, device_.str(), at::get_num_threads(),
      train_loader_->dataset().description(), steps_per_epoch_, options_.run_dir, free_space_));
  if (val_loader_) log_->line("evaluated on " + val_loader_->dataset().description());
  if (group_->distributed()) {
    log_->line(fmt::format(
        "data parallel: {} processes via {} ({} backend, {} gradient engine), {} images per "
        "process per batch",
        group_->world_size(), launch_.launcher, group_->backend(), parallel_->engine_name(),
        batch_ / group_->world_size()));
  }
  metrics_ = std::make_unique<MetricsLog>(
      options_.run_dir,
      MetricsLogOptions{parallel_->writer(), train_cfg_.boolean("step_log"),
                        train_cfg_.boolean("tensorboard"), resume_here_ && !resume_path_.empty()});
  last_path_ = (dir / "last.pt").string();
  best_path_ = (dir / "best.pt").string();
  clip_ = train_cfg_.real("grad_clip");
  log_every_ = train_cfg_.integer("log_every");
  checkpoint_every_ = train_cfg_.integer("checkpoint_every_steps");
  step_ = progress_.step;
  best_top1_ = progress_.best_top1;
}

RunSummary TrainingRun::run() {
  select_device_and_threads();
  batch_ = data_cfg_.section("loader").integer("batch_size");
  // Resuming this directory's own run continues its logs; anything else starts them anew.
  resume_here_ = resumes_run_in(options_.resume, options_.run_dir);
  if (!options_.eval_only) {
    free_space_ = check_run_dir(options_.run_dir, resume_here_, options_.overwrite);
  }
  build();
  resume();
  parallel_->start(*model_);
  if (ema_) parallel_->share_weights(ema_->model());
  summary_.best_top1 = progress_.best_top1;
  summary_.epochs_done = progress_.epoch;
  if (options_.eval_only) {
    if (!val_loader_) throw ConfigError("data.val: --eval-only needs a validation dataset");
    summary_.last = evaluate(*model_);
    if (parallel_->writer()) {
      fmt::print("eval: loss {:.4f} top-1 {:.2f}% top-5 {:.2f}% ({} images)\n", summary_.last.loss,
                 summary_.last.top1, summary_.last.top5, summary_.last.images);
    }
    return summary_;
  }
  // Every input is valid: from here on the run directory is written.
  open_outputs();
  stop_ = std::make_unique<StopSignal>();
  for (std::int64_t epoch = progress_.epoch; epoch < epochs_; ++epoch)
    train_epoch(epoch);
  return finish();
}

void TrainingRun::read_totals(Epoch& e) {
  e.sums = e.totals->read_checked(step_, e.index, last_path_, [&](const Sums& local) {
    return parallel_->sum(local, "all_reduce(training totals)");
  });
}

void TrainingRun::train_epoch(std::int64_t epoch) {
  model_->train();
  Epoch e;
  e.index = epoch;
  const bool continuing = epoch == progress_.epoch && progress_.batch > 0;
  e.first_batch = continuing ? progress_.batch : 0;
  train_loader_->start_epoch(epoch, e.first_batch);
  objective_->start_epoch(epoch, e.first_batch);
  e.t0 = Clock::now();
  // Loss, accuracy and metrics stay on the device until a log line or checkpoint needs them,
  // so that a CUDA step never waits for the host; a non-finite loss is caught at that read.
  e.totals = std::make_unique<DeviceTotals>(continuing ? parallel_->share(progress_.sums) : Sums{},
                                            device_, step_);
  e.step = e.first_batch / accum_;
  optimizer_->zero_grad();
  while (e.step < steps_per_epoch_) {
    auto b = train_loader_->next();
    if (!b) break;
    micro_step(e, *b);
    if (++e.micro < accum_) continue;
    e.micro = 0;
    optimizer_step(e);
  }
  end_epoch(e);
}

void TrainingRun::micro_step(Epoch& e, const data::Batch& b) {
  const int rank = group_->rank();
  set_lr(*optimizer_, schedule_->lr(step_));
  const auto key = [&](data::Stream stream) {
    return augment::step_generator(seed_, e.index, b.index, stream, rank);
  };
  at::manual_seed(key(data::Stream::kModel).current_seed());
  augment::PolicyBatch pb{to_pixels(b.images.to(device_, true)), b.labels.to(device_, true),
                          model_shape_.num_classes};
  if (!policies_.empty()) {
    augment::StepContext context{key(data::Stream::kTrainStep), e.index, step_, model_.get()};
    for (auto& policy : policies_)
      policy->apply(pb, context);
  }
  at::Tensor x = (pb.images - mean_).div_(std_);
  if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor y = binary_targets_ && pb.targets.is_floating_point()
                           ? pb.targets.gt(0).to(pb.targets.scalar_type())
                           : pb.targets;
  objective::ObjectiveContext objective_context{
      key(data::Stream::kObjective),
      [&](const at::Tensor& part) {
        const at::Tensor l = accum_ > 1 ? part / static_cast<double>(accum_) : part;
        (scaler_ ? scaler_->scale(l) : l).backward();
      },
      e.index, b.index, step_};
  // Objectives may run backward passes inside compute (MaskSub's split backward).
  parallel_->begin_micro_step(e.micro + 1 == accum_);
  objective::ObjectiveResult r;
  {
    AutocastGuard autocast(amp_ != "none", amp_ == "fp16" ? at::kHalf : at::kBFloat16);
    r = objective_->compute(*model_, x, y, objective_context);
  }
  objective_context.backward(r.backward_loss.defined() ? r.backward_loss : r.loss);
  const auto n = static_cast<double>(x.size(0));
  e.totals->add("loss", r.loss, n);
  if (train_cfg_.boolean("step_log")) {
    if (!e.step_loss) e.step_loss = std::make_unique<DeviceTotals>(Sums{}, device_);
    e.step_loss->add("loss", r.loss, 1.0 / static_cast<double>(accum_));
  }
  for (const auto& [k, v] : r.metrics)
    e.totals->add("metric:" + k, v, n);
  for (const auto& [k, v] : r.ratios) {
    e.totals->add("ratio:" + k, v.first, 1.0);
    e.totals->add("ratio_of:" + k, v.second, 1.0);
  }
  const at::Tensor labels = y.dim() == 1 ? y : y.argmax(1);
  e.totals->add("correct", r.logits.argmax(1).eq(labels).sum(), 1.0);
  e.totals->add("seen", n);
  e.seen_here += n;
}

void TrainingRun::optimizer_step(Epoch& e) {
  parallel_->finish_gradients();
  const bool finite = !scaler_ || scaler_->unscale(model_->parameters());
  if (clip_ > 0 && finite) torch::nn::utils::clip_grad_norm_(model_->parameters(), clip_);
  if (finite) optimizer_->step();
  if (scaler_) scaler_->update(finite);
  optimizer_->zero_grad();
  parallel_->after_step(*model_);
  if (ema_) ema_->update(*model_);
  ++step_;
  ++e.step;
  group_->set_step(step_);
  if (e.step_loss) {
    const double world = group_->world_size();
    const double loss =
        parallel_->sum(e.step_loss->read(), "all_reduce(step loss)")["loss"] / world;
    metrics_->step(step_, e.index + 1, {{"loss", loss}, {"lr", schedule_->lr(step_ - 1)}});
    e.step_loss.reset();
  }
  // Every rank reads the totals at the same steps (they are summed over the ranks); a single
  // process on a terminal also refreshes its live line in between.
  const bool due = e.step % log_every_ == 0;
  if (due) read_totals(e);
  log_->progress(e.step, log_every_, [&] {
    if (!due && !parallel_->distributed()) read_totals(e);
    const double elapsed = std::chrono::duration<double>(Clock::now() - e.t0).count();
    const double eta = elapsed / (e.step - e.first_batch / accum_) * (steps_per_epoch_ - e.step);
    return fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.4g} {:.0f} img/s ETA {:.0f}s",
                       e.index + 1, epochs_, e.step, steps_per_epoch_,
                       e.sums["loss"] / e.sums["seen"], schedule_->lr(step_ - 1),
                       e.seen_here * group_->world_size() / elapsed, eta);
  });
  const int signal = parallel_->agreed_signal(stop_->requested());
  end_of_step(
      signal, checkpoint_every_ > 0 && step_ % checkpoint_every_ == 0 && e.step < steps_per_epoch_,
      [&] {
        read_totals(e);
        save(Progress{e.index, e.step * accum_, step_, best_top1_, e.sums});
      },
      fmt::format("epoch {} step {}/{} (global step {})", e.index + 1, e.step, steps_per_epoch_,
                  step_),
      last_path_, [&](const std::string& m) { log_->line(m); });
}

void TrainingRun::save(const Progress& progress) {
  if (parallel_->writer()) save_checkpoint(last_path_, *state_, progress);
  parallel_->barrier("barrier(checkpoint written)");
}

// Each rank evaluates its slices of the validation batches; the totals are summed once.
EvalResult TrainingRun::evaluate(models::ClassifierImpl& model) {
  EvalSetup setup;
  setup.mean = mean_;
  setup.std = std_;
  setup.device = device_;
  setup.channels_last = channels_last_;
  setup.num_classes = train_counts_.empty() ? 0 : model_shape_.num_classes;
  setup.combine = [this](const Sums& local) {
    return parallel_->sum(local, "all_reduce(evaluation totals)");
  };
  return train::evaluate(model, *val_loader_, setup);
}

void TrainingRun::end_epoch(Epoch& e) {
  read_totals(e);
  const std::int64_t epoch = e.index;
  const double loss_sum = e.sums["loss"], correct = e.sums["correct"], seen = e.sums["seen"];
  const double seconds = std::chrono::duration<double>(Clock::now() - e.t0).count();
  const double images = e.seen_here * group_->world_size();
  total_images_ += images;
  total_seconds_ += seconds;
  Record figures{{"lr", schedule_->lr(step_ - 1)},
                 {"train_loss", loss_sum / seen},
                 {"train_top1", 100.0 * correct / seen}};
  for (const auto& [k, v] : e.sums) {
    if (k.rfind("metric:", 0) == 0) figures.emplace_back(k.substr(7), v / seen);
    if (k.rfind("ratio:", 0) == 0) {
      const auto of = e.sums.find("ratio_of:" + k.substr(6));
      if (of != e.sums.end() && of->second > 0) figures.emplace_back(k.substr(6), v / of->second);
    }
  }
  std::string summary_line = fmt::format("epoch {}/{}: train loss {:.4f} top-1 {:.2f}%", epoch + 1,
                                         epochs_, loss_sum / seen, 100.0 * correct / seen);
  parallel_->end_epoch(*model_);
  const bool evaluate_now =
      val_loader_ && ((epoch + 1) % train_cfg_.integer("eval_every") == 0 || epoch + 1 == epochs_);
  if (evaluate_now) {
    summary_.last = evaluate(*model_);
    figures.insert(figures.end(), {{"val_loss", summary_.last.loss},
                                   {"val_top1", summary_.last.top1},
                                   {"val_top5", summary_.last.top5}});
    summary_line += fmt::format(" | val loss {:.4f} top-1 {:.2f}% top-5 {:.2f}%",
                                summary_.last.loss, summary_.last.top1, summary_.last.top5);
    if (!train_counts_.empty()) {
      const auto shots =
          eval::shot_accuracy(train_counts_, summary_.last.class_images, summary_.last.class_hits);
      figures.insert(figures.end(), {{"val_many_shot_top1", shots.many.accuracy},
                                     {"val_medium_shot_top1", shots.medium.accuracy},
                                     {"val_few_shot_top1", shots.few.accuracy}});
      summary_line += fmt::format(" (many {:.2f}% / medium {:.2f}% / few {:.2f}%)",
                                  shots.many.accuracy, shots.medium.accuracy, shots.few.accuracy);
    }
    if (ema_ && train_cfg_.boolean("eval_ema")) {
      summary_.last_ema = evaluate(ema_->model());
      figures.emplace_back("ema_val_top1", summary_.last_ema->top1);
      summary_line += fmt::format(" | EMA top-1 {:.2f}%", summary_.last_ema->top1);
    }
  }
  figures.insert(
      figures.end(),
      {{"images_per_s", images / seconds}, {"epoch_seconds", seconds}, {"rss_mb", resident_mb()}});
  metrics_->epoch(epoch + 1, figures);
  log_->line(summary_line + fmt::format(" | {:.0f} img/s, {:.1f}s", images / seconds, seconds));
  const bool improved = evaluate_now && summary_.last.top1 > best_top1_;
  if (improved) best_top1_ = summary_.last.top1;
  save(Progress{epoch + 1, 0, step_, best_top1_, {}});
  if (improved && parallel_->writer()) copy_file_atomic(last_path_, best_path_);
  summary_.epochs_done = epoch + 1;
  if (const int signal = parallel_->agreed_signal(stop_->requested())) {
    const Interrupted stopped =
        interruption(signal, fmt::format("the end of epoch {}", epoch + 1), last_path_);
    log_->line(stopped.what());
    throw stopped;
  }
}

RunSummary TrainingRun::finish() {
  summary_.steps = step_;
  summary_.best_top1 = best_top1_;
  summary_.images_per_s = total_seconds_ > 0 ? total_images_ / total_seconds_ : 0;
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json json{{"epochs", summary_.epochs_done},
                              {"steps", summary_.steps},
                              {"val_top1", number(summary_.last.top1)},
                              {"val_top5", number(summary_.last.top5)},
                              {"best_val_top1", number(summary_.best_top1)},
                              {"train_images_per_s", number(summary_.images_per_s)},
                              {"world_size", group_->world_size()},
                              {"backend", group_->backend()}};
  if (summary_.last_ema) json["ema_val_top1"] = number(summary_.last_ema->top1);
  if (parallel_->writer()) {
    write_file_atomic((fs::path(options_.run_dir) / "summary.json").string(), json.dump(2) + "\n");
  }
  return summary_;
}

}  // namespace

RunSummary run_training(const config::Config& config, const RunOptions& options) {
  return TrainingRun(config, options, dist::detect_launch()).run();
}

}  // namespace augcore::train

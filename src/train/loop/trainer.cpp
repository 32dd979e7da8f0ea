#include "augcore/train/loop/trainer.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "augcore/core/error.h"
#include "augcore/core/malloc.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/dist/launch.h"
#include "augcore/dist/process_group.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/loop/stop_signal.h"
#include "augcore/train/loop/task.h"
#include "augcore/train/loop/train_step.h"
#include "augcore/train/output/metrics_log.h"
#include "augcore/train/output/run_dir.h"
#include "augcore/train/output/run_log.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/checkpoint.h"
#include "augcore/train/state/device_totals.h"
#include "augcore/train/state/ema.h"
#include "augcore/train/state/optimizer_registry.h"
#include "augcore/train/state/schedule_registry.h"
#include "augcore/train/tasks/recipe.h"

namespace augcore::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Sums = std::map<std::string, double>;

namespace {

// A training run of a task: the parts the recipe builds, then epochs of micro-steps and
// optimizer steps, the task's epoch ends and checkpoints. Data parallelism is one more part
// (`parallel_`), which does nothing with one process.
class TrainingRun {
 public:
  TrainingRun(Task& task, const config::Config& config, const RunOptions& options,
              const dist::LaunchInfo& launch)
      : task_(task),
        config_(config),
        options_(options),
        launch_(launch),
        root_(config.root()),
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
  void resume();
  void open_outputs();
  void train_epoch(std::int64_t epoch);
  void micro_step(Epoch& e, const data::Batch& b);
  void optimizer_step(Epoch& e);
  void read_totals(Epoch& e);
  void end_epoch(Epoch& e);
  void save(const Progress& progress);
  RunState run_state() { return RunState{task_, *optimizer_, ema_.get(), scaler_.get()}; }
  RunSummary finish();

  Task& task_;
  const config::Config& config_;
  const RunOptions& options_;
  const dist::LaunchInfo launch_;
  config::Options root_, train_cfg_;
  at::Device device_ = at::kCPU;
  AmpMode amp_ = AmpMode::kNone;
  bool channels_last_ = false;
  std::uint64_t seed_ = 0;
  bool resume_here_ = false;
  std::string free_space_;
  std::vector<std::string> notes_;

  std::unique_ptr<dist::Group> group_;
  std::unique_ptr<DataParallel> parallel_;
  std::int64_t accum_ = 1, batch_ = 0, batches_ = 0, steps_per_epoch_ = 0, epochs_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<ModelEma> ema_;
  std::unique_ptr<LossScaler> scaler_;
  std::unique_ptr<TrainStep> train_step_;

  Progress progress_;
  std::string resume_path_;
  RunSummary summary_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<MetricsLog> metrics_;
  std::string last_path_, best_path_;
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
  amp_ = amp_mode(train_cfg_);
  if (amp_ != AmpMode::kNone && !device_.is_cuda()) {
    throw ConfigError("train.amp: '" + train_cfg_.string("amp") +
                      "' mixed precision needs a CUDA device; use none on CPU");
  }
  channels_last_ = train_cfg_.boolean("channels_last");
  if (channels_last_ && !device_.is_cuda()) {
    notes_.push_back("note: train.channels_last only applies on CUDA; ignored on CPU");
    channels_last_ = false;
  }
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
  configure_malloc(root_.boolean("retain_freed_memory"));
}

void TrainingRun::build() {
  accum_ = train_cfg_.integer("accum_steps");
  epochs_ = train_cfg_.integer("epochs");
  TaskSetup setup;
  setup.device = device_;
  setup.seed = seed_;
  setup.shard = {group_->rank(), group_->world_size()};
  setup.batch_size = batch_;
  setup.accum_steps = accum_;
  setup.epochs = epochs_;
  setup.channels_last = channels_last_;
  setup.parallel = parallel_.get();
  setup.run_dir = options_.run_dir;
  task_.build(setup);
  torch::nn::Module& model = task_.model();
  if (channels_last_) use_channels_last(model);
  data::Loader& loader = task_.train_loader();
  batches_ = task_.batches_per_epoch();
  if (batches_ == 0) {
    throw ConfigError("data.loader.batch_size: " + std::to_string(batch_) + " is more than the " +
                      std::to_string(loader.samples_per_epoch()) +
                      " training samples, and drop_last leaves no batch");
  }
  if (batches_ < accum_) {
    throw ConfigError("train.accum_steps: " + std::to_string(accum_) + " exceeds the " +
                      std::to_string(batches_) + " batches of an epoch");
  }
  steps_per_epoch_ = batches_ / accum_;
  double base_lr = train_cfg_.real("lr");
  if (train_cfg_.boolean("scale_lr")) base_lr *= static_cast<double>(batch_ * accum_) / 256.0;
  optimizer_ = make_optimizer(root_.component("optimizer"), model, base_lr);
  schedule_ = make_schedule(root_.component("schedule"), {base_lr, steps_per_epoch_, epochs_});
  if (train_cfg_.section("ema").boolean("enabled")) {
    ema_ = std::make_unique<ModelEma>(task_.make_shadow(), model,
                                      train_cfg_.section("ema").real("decay"));
  }
  if (amp_ == AmpMode::kFp16) scaler_ = std::make_unique<LossScaler>();
  train_step_ = std::make_unique<TrainStep>(
      task_, *optimizer_, *schedule_, *parallel_, ema_.get(), scaler_.get(),
      TrainStepOptions{seed_, accum_, amp_, train_cfg_.real("grad_clip")});
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
    restore_weights(ckpt, path, task_, !options_.eval_only);
    if (options_.eval_only) return;
    progress_ = restore_training(ckpt, path, run_state(), config_);
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
  for (const auto& n : task_.notes())
    log_->line(n);
  for (const auto& n : start_lines)
    log_->line(n);
  log_->line(fmt::format("{} on {}, {} threads; data {}; {} steps/epoch; {} ({})", task_.describe(),
                         device_.str(), at::get_num_threads(),
                         task_.train_loader().dataset().description(), steps_per_epoch_,
                         options_.run_dir, free_space_));
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
  log_every_ = train_cfg_.integer("log_every");
  checkpoint_every_ = train_cfg_.integer("checkpoint_every_steps");
  step_ = progress_.step;
  best_top1_ = progress_.best_top1;
}

RunSummary TrainingRun::run() {
  select_device_and_threads();
  batch_ = root_.section("data").section("loader").integer("batch_size");
  // Resuming this directory's own run continues its logs; anything else starts them anew.
  resume_here_ = resumes_run_in(options_.resume, options_.run_dir);
  if (!options_.eval_only) {
    free_space_ = check_run_dir(options_.run_dir, resume_here_, options_.overwrite);
  }
  build();
  resume();
  parallel_->start(task_.model());
  if (ema_) parallel_->share_weights(ema_->model());
  summary_.best_top1 = progress_.best_top1;
  summary_.epochs_done = progress_.epoch;
  if (options_.eval_only) {
    task_.evaluate_only(summary_);
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
  task_.model().train();
  Epoch e;
  e.index = epoch;
  const bool continuing = epoch == progress_.epoch && progress_.batch > 0;
  e.first_batch = continuing ? progress_.batch : 0;
  task_.train_loader().start_epoch(epoch, e.first_batch);
  task_.start_epoch(epoch, e.first_batch);
  e.t0 = Clock::now();
  // Loss, accuracy and metrics stay on the device until a log line or checkpoint needs them,
  // so that a CUDA step never waits for the host; a non-finite loss is caught at that read.
  e.totals = std::make_unique<DeviceTotals>(continuing ? parallel_->share(progress_.sums) : Sums{},
                                            device_, step_);
  e.step = e.first_batch / accum_;
  optimizer_->zero_grad();
  while (e.step < steps_per_epoch_) {
    auto b = task_.train_loader().next();
    if (!b) break;
    micro_step(e, *b);
    if (++e.micro < accum_) continue;
    e.micro = 0;
    optimizer_step(e);
  }
  end_epoch(e);
}

void TrainingRun::micro_step(Epoch& e, const data::Batch& b) {
  const StepOutput r = train_step_->micro_step(b, e.index, step_, e.micro + 1 == accum_);
  const auto n = static_cast<double>(r.images);
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
  for (const auto& [k, v] : r.counts)
    e.totals->add(k, v, 1.0);
  e.totals->add("seen", n);
  e.seen_here += n;
}

void TrainingRun::optimizer_step(Epoch& e) {
  train_step_->optimizer_step();
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
  if (parallel_->writer()) save_checkpoint(last_path_, run_state(), progress, config_);
  parallel_->barrier("barrier(checkpoint written)");
}

void TrainingRun::end_epoch(Epoch& e) {
  read_totals(e);
  const std::int64_t epoch = e.index;
  const double seen = e.sums["seen"];
  const double seconds = std::chrono::duration<double>(Clock::now() - e.t0).count();
  const double images = e.seen_here * group_->world_size();
  total_images_ += images;
  total_seconds_ += seconds;
  summary_.train_loss = e.sums["loss"] / seen;
  EpochReport report;
  report.epoch = epoch;
  report.last = epoch + 1 == epochs_;
  report.sums = &e.sums;
  report.ema = ema_ ? &ema_->model() : nullptr;
  report.summary = &summary_;
  report.figures = {{"lr", schedule_->lr(step_ - 1)}, {"train_loss", summary_.train_loss}};
  report.line =
      fmt::format("epoch {}/{}: train loss {:.4f}", epoch + 1, epochs_, summary_.train_loss);
  task_.report_training(report);
  for (const auto& [k, v] : e.sums) {
    if (k.rfind("metric:", 0) == 0) report.figures.emplace_back(k.substr(7), v / seen);
    if (k.rfind("ratio:", 0) == 0) {
      const auto of = e.sums.find("ratio_of:" + k.substr(6));
      if (of != e.sums.end() && of->second > 0)
        report.figures.emplace_back(k.substr(6), v / of->second);
    }
  }
  parallel_->end_epoch(task_.model());
  task_.end_epoch(report);
  report.figures.insert(
      report.figures.end(),
      {{"images_per_s", images / seconds}, {"epoch_seconds", seconds}, {"rss_mb", resident_mb()}});
  metrics_->epoch(epoch + 1, report.figures);
  log_->line(report.line + fmt::format(" | {:.0f} img/s, {:.1f}s", images / seconds, seconds) +
             report.trailer);
  const bool improved = report.score && *report.score > best_top1_;
  if (improved) best_top1_ = *report.score;
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
  nlohmann::ordered_json json{{"epochs", summary_.epochs_done}, {"steps", summary_.steps}};
  for (const auto& [k, v] : task_.summary_figures(summary_))
    json[k] = number(v);
  json["train_images_per_s"] = number(summary_.images_per_s);
  json["world_size"] = group_->world_size();
  json["backend"] = group_->backend();
  if (parallel_->writer()) {
    write_file_atomic((fs::path(options_.run_dir) / "summary.json").string(), json.dump(2) + "\n");
  }
  return summary_;
}

}  // namespace

RunSummary run_task(Task& task, const config::Config& config, const RunOptions& options) {
  return TrainingRun(task, config, options, dist::detect_launch()).run();
}

}  // namespace augcore::train

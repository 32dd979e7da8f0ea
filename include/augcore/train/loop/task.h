// What a training loop trains: a task builds the model and data, computes a micro-step's loss
// and reports its epochs; the loop (train::run_task) does everything else.
#pragma once

#include <ATen/core/Dict.h>
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "augcore/config/config.h"
#include "augcore/data/loader.h"
#include "augcore/data/rng.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/output/metrics_log.h"
#include "augcore/train/state/checkpoint.h"

namespace augcore::train {

// What the loop has settled when it builds the task.
struct TaskSetup {
  at::Device device = at::kCPU;
  std::uint64_t seed = 0;
  data::Shard shard;
  std::int64_t batch_size = 0;   // images per batch, all processes together
  std::int64_t accum_steps = 1;  // batches per optimizer step
  std::int64_t epochs = 0;
  bool channels_last = false;  // CUDA only
  DataParallel* parallel = nullptr;
  std::string run_dir;  // where rank 0 may write the task's own figures
};

// A micro-step's inputs, as the task's `inputs` made them from a loader batch.
struct StepInputs {
  at::Tensor images;   // what the model reads (normalised, on the device)
  at::Tensor targets;  // labels or soft targets; a task's own per-image data otherwise
};

// Where a micro-step stands, and what it may call.
struct StepContext {
  std::int64_t epoch = 0, batch = 0, step = 0;  // 0-based epoch, batch in it, steps done
  int rank = 0;
  // The CPU generator of `stream` for this micro-step (augment::step_generator).
  std::function<at::Generator(data::Stream)> generator;
  // Backpropagates part of the loss, scaled as the loop scales its own backward (gradient
  // accumulation, fp16 loss scaling): for tasks that backpropagate in parts.
  std::function<void(const at::Tensor&)> backward;
};

// A micro-step's figures, all 0-dim tensors left on the device.
struct StepOutput {
  at::Tensor loss;           // the mean loss per image: logged, checked for finiteness
  at::Tensor backward_loss;  // what the loop still backpropagates; undefined = `loss`
  // Added to the epoch totals as they are (e.g. correct predictions).
  std::map<std::string, at::Tensor> counts;
  // Means per image, logged as epoch means (e.g. train_loss_sub).
  std::map<std::string, at::Tensor> metrics;
  // Logged as a ratio of epoch sums, name → (numerator, denominator).
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> ratios;
  std::int64_t images = 0;  // the micro-batch's size on this rank (set by the loop)
};

// What an epoch's end reports, filled in by the loop and the task in turn.
struct EpochReport {
  std::int64_t epoch = 0;                               // the epoch just finished, 0-based
  bool last = false;                                    // the run's final epoch
  const std::map<std::string, double>* sums = nullptr;  // the epoch totals (with "seen")
  torch::nn::Module* ema = nullptr;                     // the EMA weights, when kept
  Record figures;                                       // metrics.jsonl's record
  std::string line;                                     // train.log's epoch line
  std::string trailer;                                  // appended after the line's speed
  std::optional<double> score;  // higher is better: best.pt keeps the best epoch
  RunSummary* summary = nullptr;
};

class Task {
 public:
  virtual ~Task() = default;

  // Every key of the task's recipe (a resumed checkpoint's config is read under it).
  virtual config::Schema schema() const = 0;
  // Builds the data streams and the model (on setup.device). Throws ConfigError/DataError.
  virtual void build(const TaskSetup& setup) = 0;
  virtual torch::nn::Module& model() = 0;
  // A second, fresh instance of the model's architecture on the device (the EMA's copy).
  virtual std::shared_ptr<torch::nn::Module> make_shadow() = 0;
  virtual data::Loader& train_loader() = 0;
  // Micro-batches an epoch trains on; the loader's batches unless the task says otherwise.
  virtual std::int64_t batches_per_epoch();
  // The model for train.log's first line, e.g. "model resnet20 (0.27M parameters)".
  virtual std::string describe() const = 0;
  // Further lines for train.log's start (notes about the data, what is evaluated).
  virtual std::vector<std::string> notes() const;

  // Before an epoch's batch `first_batch` (0, or where a resumed run continues).
  virtual void start_epoch(std::int64_t epoch, std::int64_t first_batch);
  // Augments and normalises a batch; runs before the data-parallel gradient hooks and outside
  // autocast (saliency may run backward passes here).
  virtual StepInputs inputs(const data::Batch& batch, StepContext& context) = 0;
  // The loss of one micro-batch, under autocast; may backpropagate parts via context.backward.
  virtual StepOutput compute(StepInputs& inputs, StepContext& context) = 0;

  // Adds the training figures beyond the loss to the epoch's record (e.g. train_top1).
  virtual void report_training(EpochReport& report);
  // After the epoch and the data-parallel epoch end: evaluation, figures, the score.
  virtual void end_epoch(EpochReport& report);
  // --eval-only: evaluates the model and prints the result. ConfigError when the task has no
  // evaluation.
  virtual void evaluate_only(RunSummary& summary);
  // summary.json's task figures (the loop adds epochs, steps, speed and the job's size).
  virtual Record summary_figures(const RunSummary& summary) const;

  // The checkpoint: the loop writes "model", "optimizer", then save_head's entries, the EMA
  // and loss scaler, the progress, save_tail's entries, "config" and `checkpoint_format()`.
  virtual void save_head(c10::impl::GenericDict& checkpoint, const Progress& progress) const;
  virtual void save_tail(c10::impl::GenericDict& checkpoint) const;
  virtual std::string checkpoint_format() const = 0;
  // Before anything is read from a checkpoint to resume: DataError when it is not this
  // task's kind.
  virtual void check_checkpoint(const c10::impl::GenericDict& checkpoint,
                                const std::string& path) const;
  // Restores what save_head/save_tail wrote, or rejects (ConfigError) a checkpoint whose
  // inputs differ from this run's.
  virtual void restore(const c10::impl::GenericDict& checkpoint, const std::string& path);
};

// Trains `task` as `config` says (the recipe's device, threads, seed, data.loader.batch_size,
// train, optimizer, schedule and dist keys) and writes the run directory: config.yaml,
// train.log, metrics.jsonl (steps.jsonl with train.step_log), last.pt, best.pt when the task
// scores epochs, summary.json. Every input, the run directory and the checkpoint to resume are
// checked before anything is written. SIGINT/SIGTERM finish the step, write last.pt and throw
// Interrupted.
RunSummary run_task(Task& task, const config::Config& config, const RunOptions& options);

}  // namespace augcore::train

// Timing the trainer's own training step (train::TrainStep: policies, objective, backward,
// optimizer) of a recipe on fixed batches, alone or in turns with other contestants.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include "augcore/config/config.h"
#include "augcore/data/loader.h"
#include "augcore/eval/statistics.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/loop/task.h"
#include "augcore/train/loop/train_step.h"
#include "augcore/train/state/schedule.h"

namespace augcore::bench {

// The first `count` training batches of a recipe's loader (uint8, CPU), loaded once so that
// timed steps never wait for data or share the cores with loader threads.
// With a shard: this data-parallel rank's part of each batch.
std::vector<data::Batch> preload_batches(const config::Options& root, std::int64_t count,
                                         data::Shard shard = {});

// One recipe's training step, built and taken as the trainer builds and takes it: the task
// (model, policies, objective, normalisation), optimizer, schedule, clipping, EMA, AMP and
// channels_last, and train::TrainStep itself (one micro-step per step).
class StepBench {
 public:
  // Data-parallel steps average the gradients through `parallel` (a rank's `batches` are its
  // part of each batch); without it the bench trains as one process.
  StepBench(const config::Config& config, const std::vector<data::Batch>& batches,
            train::DataParallel* parallel = nullptr);
  ~StepBench();
  // Runs `steps` steps over the batches (cycling) and returns their total seconds; the
  // device is synchronised before the clock stops.
  double run(std::int64_t steps);
  std::int64_t batch_size() const { return batch_size_; }
  const std::string& model_name() const { return model_name_; }
  std::int64_t parameters() const;
  // "+"-joined policy names and the objective ("no policy" when there are none).
  const std::string& label() const { return label_; }
  torch::nn::Module& model() { return task_->model(); }
  // Seconds spent waiting for the gradient all-reduce (after backward) so far.
  double sync_seconds() const { return step_->sync_seconds(); }

 private:
  config::Config config_;
  const std::vector<data::Batch>& batches_;
  at::Device device_;
  std::unique_ptr<dist::Group> group_;
  std::unique_ptr<train::DataParallel> own_parallel_;
  std::unique_ptr<train::Task> task_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<train::LrSchedule> schedule_;
  std::unique_ptr<train::LossScaler> scaler_;
  std::unique_ptr<train::ModelEma> ema_;
  std::unique_ptr<train::TrainStep> step_;
  std::int64_t batch_size_ = 0, next_ = 0;
  std::string model_name_, label_;
};

// Contestants timed in turns: `rounds` rounds of `steps` steps (or passes) each, in the
// balanced orders of rotation_order.h, so that the machine's drifts hit all alike and no
// contestant always holds the same place or follows the same one. A ratio of
// two contestants is taken per round, where both met the same machine, and summarised by its median
// and the median's order-statistic interval (95 % from six rounds up; fewer rounds give the range,
// with its lower coverage).
class Rotation {
 public:
  // Takes `steps` steps and returns their seconds; nothing when it failed (a Python child that
  // died): it then drops out and has no figures.
  using Timed = std::function<std::optional<double>(std::int64_t steps)>;
  Rotation(const std::vector<Timed>& contestants, std::int64_t rounds, std::int64_t steps);
  // A bench's steps as a contestant.
  static Timed of(StepBench& bench);
  // The median over rounds of contestant i's seconds per step.
  std::optional<double> seconds(std::size_t i) const;
  // Contestant a's time over b's, per round: the median ratio and its interval.
  std::optional<eval::MedianInterval> ratio(std::size_t a, std::size_t b) const;

 private:
  std::vector<std::optional<std::vector<double>>> per_round_;
};

}  // namespace augcore::bench

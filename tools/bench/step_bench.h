// Timing the trainer's training step (policies, objective, backward, optimizer) of a recipe on
// fixed batches, alone or interleaved with other recipes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include "augcore/augment/policy.h"
#include "augcore/config/config.h"
#include "augcore/data/loader.h"
#include "augcore/models/classifier.h"
#include "augcore/objective/objective.h"
#include "augcore/train/data_parallel.h"

namespace augcore::bench {

// The first `count` training batches of a recipe's loader (uint8, CPU), loaded once so that
// timed steps never wait for data or share the cores with loader threads.
// With a shard: this data-parallel rank's part of each batch.
std::vector<data::Batch> preload_batches(const config::Options& root, std::int64_t count,
                                         data::Shard shard = {});

// One recipe's training step, built as the trainer builds it: model, optimizer, objective,
// batch policies, normalisation, device, AMP and channels_last.
class StepBench {
 public:
  StepBench(const config::Config& config, const std::vector<data::Batch>& batches);
  // Runs `steps` steps over the batches (cycling) and returns their total seconds; the
  // device is synchronised before the clock stops.
  double run(std::int64_t steps);
  std::int64_t batch_size() const { return batch_size_; }
  const std::string& model_name() const { return model_name_; }
  std::int64_t parameters() const;
  // "+"-joined policy names and the objective ("no policy" when there are none).
  const std::string& label() const { return label_; }
  models::ClassifierImpl& model() { return *model_; }
  // Data-parallel steps: gradients averaged through `parallel` before the optimizer step.
  void set_data_parallel(train::DataParallel* parallel) { parallel_ = parallel; }
  // Seconds spent waiting for the gradient all-reduce (after backward) so far.
  double sync_seconds() const { return sync_seconds_; }

 private:
  config::Config config_;
  const std::vector<data::Batch>& batches_;
  at::Device device_;
  bool channels_last_ = false;
  at::ScalarType amp_ = at::kFloat;
  std::shared_ptr<models::ClassifierImpl> model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<objective::Objective> objective_;
  std::vector<std::unique_ptr<augment::BatchPolicy>> policies_;
  at::Tensor mean_, std_;
  std::int64_t batch_size_ = 0, next_ = 0;
  std::string model_name_, label_;
  train::DataParallel* parallel_ = nullptr;
  double sync_seconds_ = 0;
};

// The median of `values` (not empty).
double median(std::vector<double> values);

// Seconds per step of each bench, measured in `rounds` rounds of `steps` steps that visit
// every bench in turn (after `warmup` untimed steps each), so slow drifts of the machine's
// speed hit all of them alike. Returns the median over rounds of each bench's step time.
std::vector<double> interleaved_step_times(std::vector<StepBench*> benches, std::int64_t rounds,
                                           std::int64_t steps, std::int64_t warmup);

}  // namespace augcore::bench

// One optimizer step of a task as the training loop takes it, for the loop and for benchmarks:
// micro-steps (inputs, forward and backward under AMP, gradient accumulation and the
// data-parallel hooks), then unscaling, clipping, the optimizer, the loss scale and the EMA.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>

#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/loop/task.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/ema.h"
#include "augcore/train/state/schedule.h"

namespace augcore::train {

struct TrainStepOptions {
  std::uint64_t seed = 0;
  std::int64_t accum_steps = 1;  // micro-steps per optimizer step
  AmpMode amp = AmpMode::kNone;  // CUDA only
  double grad_clip = 0;          // global gradient norm; 0 = off
};

class TrainStep {
 public:
  // Borrows every part; `ema` and `scaler` may be null (none kept; fp16 needs a scaler).
  TrainStep(Task& task, torch::optim::Optimizer& optimizer, const LrSchedule& schedule,
            DataParallel& parallel, ModelEma* ema, LossScaler* scaler,
            const TrainStepOptions& options);

  // Micro-batch `batch` of 0-based `epoch`, before optimizer step `step` (global, 0-based):
  // sets the step's learning rate, reseeds LibTorch's default generator from (seed, epoch,
  // batch), runs the task and backpropagates. `last` marks the step's last micro-batch.
  // Returns the task's figures (left on the device) and the micro-batch's size.
  StepOutput micro_step(const data::Batch& batch, std::int64_t epoch, std::int64_t step, bool last);
  // Averages the gradients over the ranks, then unscale, clip, step, update the loss scale,
  // zero the gradients, the data-parallel after-step hook and the EMA.
  void optimizer_step();

  // Seconds spent finishing the gradient all-reduce so far (0 with one process, which has none).
  double sync_seconds() const { return sync_seconds_; }

 private:
  Task& task_;
  torch::optim::Optimizer& optimizer_;
  const LrSchedule& schedule_;
  DataParallel& parallel_;
  ModelEma* ema_;
  LossScaler* scaler_;
  TrainStepOptions options_;
  double sync_seconds_ = 0;
};

// Keeps the model's 4-D parameters in channels-last memory format (CUDA convolutions).
void use_channels_last(torch::nn::Module& model);

}  // namespace augcore::train

// Learning-rate schedules evaluated per optimizer step: linear warmup, then cosine, FixMatch's
// cosine, multistep or constant.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <vector>

namespace augcore::train {

// Linear warmup, shared by every schedule: the rate rises from `start_lr` at step 0 towards the
// base rate over `steps` optimizer steps (0: no warmup).
struct WarmupOptions {
  TORCH_ARG(std::int64_t, steps) = 0;
  TORCH_ARG(double, start_lr) = 0.0;
};

// A schedule: the rate of each optimizer step.
class LrSchedule {
 public:
  // The run the schedule spans: the base rate, optimizer steps per epoch and epochs.
  struct Shape {
    double base_lr = 0.1;
    std::int64_t steps_per_epoch = 1;
    std::int64_t epochs = 1;
  };
  // OptionError for a non-positive steps_per_epoch or epochs, or negative rates or warmup.
  LrSchedule(const Shape& shape, WarmupOptions warmup);
  virtual ~LrSchedule() = default;
  // The rate for optimizer step `step` (0-based): the warmup, then the schedule's own decay.
  double lr(std::int64_t step) const;

 protected:
  // The decayed rate at `step` >= the warmup's steps.
  virtual double decay(std::int64_t step) const = 0;
  // Where `step` lies in the decay, from 0 (end of warmup) to 1 (end of the run).
  double progress(std::int64_t step) const;
  Shape shape_;
  WarmupOptions warmup_;
};

struct CosineScheduleOptions {
  TORCH_ARG(WarmupOptions, warmup) = {};
  // The rate at the end of the half cosine.
  TORCH_ARG(double, min_lr) = 0.0;
};

// Half-cycle cosine from the base rate to min_lr over the steps after warmup.
class CosineSchedule : public LrSchedule {
 public:
  CosineSchedule(const Shape& shape, CosineScheduleOptions options = {});

 protected:
  double decay(std::int64_t step) const override;

 private:
  double min_lr_;
};

// FixMatch's decay (Sohn et al. 2020): base_lr · cos(7πk / 16K) over the K steps after warmup,
// ending at cos(7π/16) ≈ 0.195 of the base rate.
class FixMatchCosineSchedule : public LrSchedule {
 public:
  explicit FixMatchCosineSchedule(const Shape& shape, WarmupOptions warmup = {});

 protected:
  double decay(std::int64_t step) const override;
};

struct MultiStepScheduleOptions {
  TORCH_ARG(WarmupOptions, warmup) = {};
  // Epochs (0-based) from which the rate is multiplied by gamma once more.
  TORCH_ARG(std::vector<std::int64_t>, milestones) = std::vector<std::int64_t>{30, 60, 90};
  TORCH_ARG(double, gamma) = 0.1;
};

// The base rate times gamma^(milestones passed), by epoch.
class MultiStepSchedule : public LrSchedule {
 public:
  MultiStepSchedule(const Shape& shape, MultiStepScheduleOptions options = {});

 protected:
  double decay(std::int64_t step) const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

// The base rate throughout, after warmup.
class ConstantSchedule : public LrSchedule {
 public:
  explicit ConstantSchedule(const Shape& shape, WarmupOptions warmup = {});

 protected:
  double decay(std::int64_t step) const override;
};

}  // namespace augcore::train

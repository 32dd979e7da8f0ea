#include "augcore/train/state/schedule.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "augcore/core/error.h"

namespace augcore::train {
namespace {

void check_non_negative(double value, const char* owner, const char* option) {
  if (!(value >= 0)) throw OptionError(owner, option, fmt::format("{} is below 0", value));
}

}  // namespace

LrSchedule::LrSchedule(const Shape& shape, WarmupOptions warmup) : shape_(shape), warmup_(warmup) {
  if (shape.steps_per_epoch < 1 || shape.epochs < 1) {
    throw OptionError("LrSchedule", "shape",
                      fmt::format("{} steps per epoch × {} epochs is empty", shape.steps_per_epoch,
                                  shape.epochs));
  }
  check_non_negative(shape.base_lr, "LrSchedule", "base_lr");
  if (warmup.steps() < 0) {
    throw OptionError("WarmupOptions", "steps", fmt::format("{} is below 0", warmup.steps()));
  }
  check_non_negative(warmup.start_lr(), "WarmupOptions", "start_lr");
}

double LrSchedule::lr(std::int64_t step) const {
  if (step < warmup_.steps()) {
    return warmup_.start_lr() +
           (shape_.base_lr - warmup_.start_lr()) * static_cast<double>(step) / warmup_.steps();
  }
  return decay(step);
}

double LrSchedule::progress(std::int64_t step) const {
  const double total =
      static_cast<double>(shape_.steps_per_epoch * shape_.epochs - warmup_.steps());
  return total > 0 ? std::min(1.0, (step - warmup_.steps()) / total) : 1.0;
}

CosineSchedule::CosineSchedule(const Shape& shape, CosineScheduleOptions options)
    : LrSchedule(shape, options.warmup()), min_lr_(options.min_lr()) {
  check_non_negative(min_lr_, "CosineScheduleOptions", "min_lr");
}

double CosineSchedule::decay(std::int64_t step) const {
  return min_lr_ + 0.5 * (shape_.base_lr - min_lr_) * (1.0 + std::cos(M_PI * progress(step)));
}

FixMatchCosineSchedule::FixMatchCosineSchedule(const Shape& shape, WarmupOptions warmup)
    : LrSchedule(shape, warmup) {}

double FixMatchCosineSchedule::decay(std::int64_t step) const {
  return shape_.base_lr * std::cos(7.0 * M_PI * progress(step) / 16.0);
}

MultiStepSchedule::MultiStepSchedule(const Shape& shape, MultiStepScheduleOptions options)
    : LrSchedule(shape, options.warmup()),
      milestones_(options.milestones()),
      gamma_(options.gamma()) {
  check_non_negative(gamma_, "MultiStepScheduleOptions", "gamma");
  for (const auto m : milestones_) {
    if (m < 0) {
      throw OptionError("MultiStepScheduleOptions", "milestones",
                        fmt::format("epoch {} is below 0", m));
    }
  }
}

double MultiStepSchedule::decay(std::int64_t step) const {
  const std::int64_t epoch = step / shape_.steps_per_epoch;
  const auto passed = std::count_if(milestones_.begin(), milestones_.end(),
                                    [&](std::int64_t m) { return epoch >= m; });
  return shape_.base_lr * std::pow(gamma_, static_cast<double>(passed));
}

ConstantSchedule::ConstantSchedule(const Shape& shape, WarmupOptions warmup)
    : LrSchedule(shape, warmup) {}

double ConstantSchedule::decay(std::int64_t) const {
  return shape_.base_lr;
}

}  // namespace augcore::train

// Learning-rate schedules evaluated per iteration: linear warmup, then cosine, FixMatch's
// cosine, step, multistep or constant.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "augcore/config/config.h"

namespace augcore::train {

class LrSchedule {
 public:
  struct Shape {
    double base_lr = 0.1;
    std::int64_t steps_per_epoch = 1;
    std::int64_t epochs = 1;
  };
  LrSchedule(const Shape& shape, std::int64_t warmup_steps, double warmup_lr);
  virtual ~LrSchedule() = default;
  // The rate for optimizer step `step` (0-based): warmup rises linearly from warmup_lr to
  // base_lr over warmup_steps, then the schedule's own decay takes over.
  double lr(std::int64_t step) const;

 protected:
  // The decayed rate at `step` >= warmup_steps.
  virtual double decay(std::int64_t step) const = 0;
  Shape shape_;
  std::int64_t warmup_steps_;
  double warmup_lr_;
};

using ScheduleFactory =
    std::function<std::unique_ptr<LrSchedule>(const config::Options&, const LrSchedule::Shape&)>;

std::unique_ptr<LrSchedule> make_schedule(const config::ComponentConfig& component,
                                          const LrSchedule::Shape& shape);

}  // namespace augcore::train

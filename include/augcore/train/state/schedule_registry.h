// Recipe `schedule` component → LrSchedule: the registered schedules (cosine, step, multistep,
// fixmatch_cosine, constant) built from their recipe options.
#pragma once

#include <functional>
#include <memory>

#include "augcore/config/config.h"
#include "augcore/train/state/schedule.h"

namespace augcore::train {

using ScheduleFactory =
    std::function<std::unique_ptr<LrSchedule>(const config::Options&, const LrSchedule::Shape&)>;

std::unique_ptr<LrSchedule> make_schedule(const config::ComponentConfig& component,
                                          const LrSchedule::Shape& shape);

}  // namespace augcore::train

// Which task a classifier recipe (train::recipe_schema()) trains: classification, or
// semi-supervised classification when semi.method is set.
#pragma once

#include <memory>

#include "augcore/config/config.h"
#include "augcore/train/loop/task.h"

namespace augcore::train {

// `recipe` must outlive the task.
std::unique_ptr<Task> make_task(const config::Config& recipe);

}  // namespace augcore::train

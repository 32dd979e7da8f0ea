#include "augcore/train/tasks/task_registry.h"

#include "augcore/train/tasks/classification_task.h"
#include "augcore/train/tasks/semi_supervised.h"
#include "augcore/train/tasks/semi_supervised_task.h"

namespace augcore::train {

std::unique_ptr<Task> make_task(const config::Config& recipe) {
  if (semi_supervised(recipe.root())) return std::make_unique<SemiSupervisedTask>(recipe);
  return std::make_unique<ClassificationTask>(recipe);
}

RunSummary run_training(const config::Config& config, const RunOptions& options) {
  return run_task(*make_task(config), config, options);
}

}  // namespace augcore::train

#include "augcore/train/loop/task.h"

#include "augcore/core/error.h"

namespace augcore::train {

std::int64_t Task::batches_per_epoch() {
  return static_cast<std::int64_t>(train_loader().batches_per_epoch());
}

std::vector<std::string> Task::notes() const {
  return {};
}

void Task::start_epoch(std::int64_t, std::int64_t) {}

void Task::report_training(EpochReport&) {}

void Task::end_epoch(EpochReport&) {}

void Task::evaluate_only(RunSummary&) {
  throw ConfigError("--eval-only: this training task has no evaluation");
}

Record Task::summary_figures(const RunSummary&) const {
  return {};
}

void Task::save_head(c10::impl::GenericDict&, const Progress&) const {}

void Task::save_tail(c10::impl::GenericDict&) const {}

void Task::check_checkpoint(const c10::impl::GenericDict&, const std::string&) const {}

void Task::restore(const c10::impl::GenericDict&, const std::string&) {}

}  // namespace augcore::train

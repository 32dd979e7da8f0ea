// The trainer: runs a validated recipe on CPU or CUDA, evaluates, checkpoints and resumes.
#pragma once

#include <optional>
#include <string>

#include "augcore/config/config.h"
#include "augcore/train/tasks/evaluate.h"

namespace augcore::train {

struct RunOptions {
  std::string run_dir;
  std::string resume;      // "", "auto" (the run directory's newest checkpoint) or a path
  bool overwrite = false;  // replace an earlier run in run_dir (otherwise refused)
  bool eval_only = false;  // evaluate the resumed or pretrained weights and stop
};

struct RunSummary {
  std::int64_t epochs_done = 0;
  std::int64_t steps = 0;
  EvalResult last;
  std::optional<EvalResult> last_ema;
  double best_top1 = 0;
  double images_per_s = 0;
  double train_loss = 0;  // the last epoch's mean training loss
};

// The training run failed for a reason other than bad input (e.g. a non-finite loss).
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs the recipe. Writes config.yaml, train.log, metrics.jsonl, last.pt, best.pt,
// summary.json (and steps.jsonl with train.step_log) into run_dir. Checks every input, the run
// directory and the checkpoint to resume before writing anything. SIGINT/SIGTERM finish the
// step, write last.pt and throw Interrupted. Throws ConfigError/DataError for bad input,
// TrainingError when training cannot go on.
RunSummary run_training(const config::Config& config, const RunOptions& options);

}  // namespace augcore::train

// Training checkpoints: what a run's checkpoint holds and how it is written and restored, the
// run's position, typed reads that reject damaged files, the newest complete checkpoint of a
// run directory, and whether a config may resume a checkpoint.
#pragma once

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "augcore/config/config.h"

namespace torch::optim {
class Optimizer;
}

namespace augcore::train {

class Task;
class ModelEma;
class LossScaler;

// Where a run stands. With the seed it determines every random draw that follows: the loader,
// policies, objectives and the default generators all derive from (seed, epoch, batch).
struct Progress {
  std::int64_t epoch = 0;  // the epoch to continue in (0-based)
  std::int64_t batch = 0;  // batches of that epoch already trained on
  std::int64_t step = 0;   // optimizer steps so far
  double best_top1 = -1;
  std::map<std::string, double> sums;  // the epoch's running sums (loss, correct, seen, ...)
};

void put_progress(c10::impl::GenericDict& checkpoint, const Progress& progress);
// Reads what put_progress wrote (older checkpoints without "batch" resume at an epoch start).
Progress read_progress(const c10::impl::GenericDict& checkpoint, const std::string& path);

// The parts of a training run a checkpoint holds; each saves and restores its own state (the
// task its model and extras, the optimizer, EMA and loss scaler their state dicts). The
// schedule and the data order hold none: they follow from the Progress.
struct RunState {
  Task& task;
  torch::optim::Optimizer& optimizer;
  ModelEma* ema = nullptr;       // when train.ema is on
  LossScaler* scaler = nullptr;  // when train.amp is fp16
};

// Writes `state` at `progress` with the run's resolved `config` to `path`: "model",
// "optimizer", the task's head entries, "ema", "scaler", the progress, the task's tail entries,
// "config" and the task's format tag (the order fixes the file's bytes). Atomic: a reader sees
// the previous file or this one.
void save_checkpoint(const std::string& path, const RunState& state, const Progress& progress,
                     const config::Config& config);

// Loads `checkpoint`'s weights into the task's model (DataError naming `path` when they do not
// fit), after the task has checked the checkpoint is its own when `check_task` is set.
void restore_weights(const c10::impl::GenericDict& checkpoint, const std::string& path, Task& task,
                     bool check_task);

// Restores everything else a training run continues from (after restore_weights): checks that
// `config` continues the checkpoint's run, then the task's extras, the optimizer, EMA and loss
// scaler, and returns the position. ConfigError when `config` would not continue the run;
// DataError naming `path` for damaged or foreign entries.
Progress restore_training(const c10::impl::GenericDict& checkpoint, const std::string& path,
                          const RunState& state, const config::Config& config);

// Loads a checkpoint that must be a dict. Throws DataError naming the file otherwise.
c10::impl::GenericDict load_checkpoint(const std::string& path);

// Typed entries of a checkpoint dict; DataError naming the file and key when missing or of
// another type.
c10::IValue entry(const c10::impl::GenericDict& d, const std::string& key, const std::string& path);
std::int64_t int_entry(const c10::impl::GenericDict& d, const std::string& key,
                       const std::string& path);
double real_entry(const c10::impl::GenericDict& d, const std::string& key, const std::string& path);
std::string string_entry(const c10::impl::GenericDict& d, const std::string& key,
                         const std::string& path);
c10::impl::GenericDict dict_entry(const c10::impl::GenericDict& d, const std::string& key,
                                  const std::string& path);

// The newest complete checkpoint (highest step) among the run directory's last.pt and
// best.pt, or "" when there is none. Unreadable ones are skipped and described in `skipped`;
// DataError when every one present is unreadable.
std::string newest_checkpoint(const std::string& run_dir, std::vector<std::string>& skipped);

// Throws ConfigError naming the first key whose value differs between the config a
// checkpoint was written with (`saved_yaml`) and `config`, ignoring keys that do not change
// the training trajectory: epochs, logging, checkpoint frequency, threads, device, workers,
// prefetch, output and the validation data.
// Keys the saved config lacks (added to augcore since) count as their defaults under `schema`.
void check_resumable(const std::string& saved_yaml, const config::Config& config,
                     const std::string& path, const config::Schema& schema);

// Keeps the lines of a JSON-lines log whose integer `key` is at most `max`, dropping what a
// resumed run will redo. Rewrites the file atomically; nothing happens when it is absent.
void truncate_jsonl(const std::string& path, const std::string& key, std::int64_t max);

}  // namespace augcore::train

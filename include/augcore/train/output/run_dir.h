// Run directories: never train over an earlier run by accident, and fail before training when
// the directory cannot be written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace augcore::train {

// True when `resume` ("auto" or a checkpoint path) continues the run in `dir` itself.
bool resumes_run_in(const std::string& resume, const std::string& dir);

// True when `dir` holds an earlier run (a checkpoint or a metrics log).
bool holds_run(const std::string& dir);

// Creates `dir` if needed and checks that a file can be written in it. Throws ConfigError when
// it holds a run and neither `resuming` nor `overwrite` is set, when both are set, or when it
// cannot be written. Returns its free space as text ("12.3 GiB free").
std::string check_run_dir(const std::string& dir, bool resuming, bool overwrite);

// Deletes an earlier run's files (checkpoints, logs, summary, figures), for --overwrite.
void clear_run_dir(const std::string& dir);

// Removes the temporary files of writes that a killed process left behind; returns their names.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// How a run begins in its directory.
struct RunStart {
  bool overwrite = false;    // delete the earlier run first
  std::string resumed_from;  // the checkpoint resumed, or "" for a fresh start
  bool same_run = false;     // resumed_from is this directory's own run: keep its logs
  std::int64_t epoch = 0;    // the resumed position (epoch to continue in, optimizer step)
  std::int64_t batch = 0;
  std::int64_t step = 0;
};

// Called once every input has been checked: deletes the earlier run (overwrite), removes
// partial writes, cuts metrics.jsonl/steps.jsonl back to the resumed position (or starts
// the logs anew), and writes config.yaml. Returns the lines to log about it.
std::vector<std::string> open_run_dir(const std::string& dir, const RunStart& start,
                                      const std::string& config_yaml);

}  // namespace augcore::train

// Run directories: never train over an earlier run by accident, and fail before training when
// the directory cannot be written.
#pragma once

#include <string>
#include <vector>

namespace augcore::train {

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

}  // namespace augcore::train

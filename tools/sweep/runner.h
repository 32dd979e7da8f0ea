// Runs a sweep's training runs as child processes, N at a time, skipping finished ones.
#pragma once

#include <string>
#include <vector>

#include "sweep/grid.h"

namespace augcore::sweep {

struct RunOutcome {
  enum class State { kSkipped, kDone, kFailed, kInterrupted };
  State state = State::kDone;
  std::string message;  // the failure's last output line
};

// The directory holding a finished run's metrics.jsonl: the run directory once it holds
// summary.json (mra_train writes it last), else the run's record when that holds it; empty
// while the run is unfinished.
std::string result_dir(const SweepRun& run);
bool finished(const SweepRun& run);

// Copies a finished run directory's metrics.jsonl, summary.json and config.yaml to the run's
// record (each file written whole, summary.json last). Does nothing for a run without a record
// or an unfinished run directory.
void keep_record(const SweepRun& run);

// Runs every unfinished run with `program` (mra_train) as
//   program -c RECIPE --set k=v... -o DIR --resume auto   (output to DIR.log)
// `parallel` at a time, seed by seed (every configuration of one seed before the next seed), so
// a sweep stopped part-way leaves paired seeds. --resume auto continues a run an earlier, killed
// sweep left behind. Each run that finishes is recorded (keep_record) at once.
// SIGINT/SIGTERM stop the sweep: the children get SIGTERM (they write last.pt and exit), as
// they do when the sweep itself dies. Prints one line per run started and ended.
std::vector<RunOutcome> run_all(const std::vector<SweepRun>& runs, const std::string& program,
                                int parallel);

}  // namespace augcore::sweep

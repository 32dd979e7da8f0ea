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

// A run is finished when its directory holds summary.json (mra_train writes it last).
bool finished(const SweepRun& run);

// Runs every unfinished run with `program` (mra_train) as
//   program -c RECIPE --set k=v... -o DIR --resume auto   (output to DIR.log)
// `parallel` at a time, seed by seed (every configuration of one seed before the next seed), so
// a sweep stopped part-way leaves paired seeds. --resume auto continues a run an earlier, killed
// sweep left behind.
// SIGINT/SIGTERM stop the sweep: the children get SIGTERM (they write last.pt and exit), as
// they do when the sweep itself dies. Prints one line per run started and ended.
std::vector<RunOutcome> run_all(const std::vector<SweepRun>& runs, const std::string& program,
                                int parallel);

}  // namespace augcore::sweep

// `--nproc N`: runs a program as N data-parallel processes on this machine, as torchrun would.
#pragma once

#include <string>
#include <vector>

namespace augcore::dist {

// Starts `argv` (argv[0] is ignored: this program runs again) `nproc` times with RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT,
// forwards SIGINT/SIGTERM to every process, and when one fails sends those still running
// `grace_s` seconds later SIGTERM, and another `grace_s` later SIGKILL. Prints one line naming the
// rank that failed first. Returns 0 when every process succeeded, else the first failure's exit
// code (128 + signal for a process killed by a signal).
int launch_local(int nproc, const std::vector<std::string>& argv, double grace_s = 3);

// argv without `--nproc N` / `--nproc=N`.
std::vector<std::string> without_nproc(const std::vector<std::string>& argv);

}  // namespace augcore::dist

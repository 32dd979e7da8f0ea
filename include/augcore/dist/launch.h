// Who this process is in a multi-process job: rank, world size and local rank as torchrun,
// SLURM, MPI or `--nproc` set them in the environment, and where the rendezvous store is.
#pragma once

#include <functional>
#include <string>

namespace augcore::dist {

struct LaunchInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string launcher = "none";  // torchrun | slurm | mpi | none
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's static rendezvous runs the store in the launcher: every rank, rank 0 included,
  // connects as a client under `store_prefix`.
  bool store_in_launcher = false;
  std::string store_prefix;

  bool distributed() const { return world_size > 1; }
  // "rank 1/4 (local 1/2) via torchrun, store 10.0.0.1:29500"
  std::string describe() const;
};

// Reads the environment through `get` (std::getenv by default). Precedence: torchrun's and
// `--nproc`'s RANK/WORLD_SIZE/LOCAL_RANK, then SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (master:
// MASTER_ADDR, else the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST), then
// OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK/LOCAL_SIZE (master: MASTER_ADDR), else one process.
// Throws ConfigError naming the variable when one is malformed or contradicts another.
LaunchInfo detect_launch(const std::function<const char*(const char*)>& get = nullptr);

// The first host of a SLURM host list: "gpu[03-05,9],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace augcore::dist

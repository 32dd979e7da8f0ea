#include "augcore/dist/launch.h"

#include <fmt/core.h>

#include <cstdlib>

#include "augcore/core/error.h"

namespace augcore::dist {

namespace {

using Getter = std::function<const char*(const char*)>;

bool has(const Getter& get, const char* name) {
  const char* v = get(name);
  return v && *v;
}

int integer(const Getter& get, const char* name, int low, int high) {
  const char* v = get(name);
  if (!v || !*v) throw ConfigError(fmt::format("environment {}: not set", name));
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  if (*end != '\0' || value < low || value > high) {
    throw ConfigError(
        fmt::format("environment {}: '{}' is not an integer in [{}, {}]", name, v, low, high));
  }
  return static_cast<int>(value);
}

int integer_or(const Getter& get, const char* name, int fallback, int low, int high) {
  return has(get, name) ? integer(get, name, low, high) : fallback;
}

void master_from_env(const Getter& get, LaunchInfo& info) {
  if (has(get, "MASTER_ADDR")) info.master_addr = get("MASTER_ADDR");
  info.master_port = integer_or(get, "MASTER_PORT", info.master_port, 1, 65535);
}

void check(const LaunchInfo& info, const char* rank_var, const char* local_var) {
  if (info.rank >= info.world_size) {
    throw ConfigError(fmt::format("environment {}: rank {} is not below the world size {}",
                                  rank_var, info.rank, info.world_size));
  }
  if (info.local_rank >= info.local_world_size || info.local_world_size > info.world_size) {
    throw ConfigError(fmt::format("environment {}: local rank {} of {} does not fit a world of {}",
                                  local_var, info.local_rank, info.local_world_size,
                                  info.world_size));
  }
}

}  // namespace

std::string LaunchInfo::describe() const {
  return fmt::format("rank {}/{} (local {}/{}) via {}, store {}:{}{}", rank, world_size, local_rank,
                     local_world_size, launcher, master_addr, master_port,
                     store_in_launcher ? " (the launcher's)" : "");
}

std::string first_slurm_host(const std::string& nodelist) {
  const auto comma = nodelist.find(',');
  const auto bracket = nodelist.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) {
    return nodelist.substr(0, comma);
  }
  const auto close = nodelist.find(']', bracket);
  if (close == std::string::npos) throw ConfigError("SLURM node list '" + nodelist + "': no ']'");
  const std::string range = nodelist.substr(bracket + 1, close - bracket - 1);
  const std::string first = range.substr(0, range.find_first_of("-,"));
  if (first.empty()) throw ConfigError("SLURM node list '" + nodelist + "': empty range");
  return nodelist.substr(0, bracket) + first;
}

LaunchInfo detect_launch(const std::function<const char*(const char*)>& getter) {
  const Getter get = getter ? getter : [](const char* n) -> const char* { return std::getenv(n); };
  LaunchInfo info;
  constexpr int kMax = 1 << 20;
  if (has(get, "RANK") || has(get, "WORLD_SIZE")) {
    info.launcher = has(get, "TORCHELASTIC_RUN_ID") ? "torchrun" : "env";
    if (has(get, "AUGCORE_NPROC")) info.launcher = "--nproc";
    info.world_size = integer(get, "WORLD_SIZE", 1, kMax);
    info.rank = integer(get, "RANK", 0, kMax);
    info.local_rank = integer_or(get, "LOCAL_RANK", info.rank, 0, kMax);
    info.local_world_size = integer_or(get, "LOCAL_WORLD_SIZE", info.world_size, 1, kMax);
    master_from_env(get, info);
    const char* agent = get("TORCHELASTIC_USE_AGENT_STORE");
    if (agent && std::string(agent) == "True") {
      info.store_in_launcher = true;
      info.store_prefix = fmt::format("/worker/attempt_{}",
                                      integer_or(get, "TORCHELASTIC_RESTART_COUNT", 0, 0, kMax));
    }
    check(info, "RANK", "LOCAL_RANK");
  } else if (has(get, "SLURM_PROCID") && has(get, "SLURM_NTASKS")) {
    info.launcher = "slurm";
    info.world_size = integer(get, "SLURM_NTASKS", 1, kMax);
    info.rank = integer(get, "SLURM_PROCID", 0, kMax);
    info.local_rank = integer_or(get, "SLURM_LOCALID", 0, 0, kMax);
    // SLURM_NTASKS_PER_NODE may read "4(x2)"; the tasks on this node are what matter here.
    const char* per_node = get("SLURM_STEP_TASKS_PER_NODE");
    info.local_world_size =
        per_node && *per_node ? std::atoi(per_node) : (info.world_size == 1 ? 1 : info.world_size);
    if (info.local_world_size < 1) info.local_world_size = 1;
    if (has(get, "MASTER_ADDR")) {
      info.master_addr = get("MASTER_ADDR");
    } else if (has(get, "SLURM_STEP_NODELIST") || has(get, "SLURM_JOB_NODELIST")) {
      info.master_addr = first_slurm_host(
          get(has(get, "SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST"));
    }
    info.master_port = integer_or(get, "MASTER_PORT", info.master_port, 1, 65535);
    check(info, "SLURM_PROCID", "SLURM_LOCALID");
  } else if (has(get, "OMPI_COMM_WORLD_RANK") && has(get, "OMPI_COMM_WORLD_SIZE")) {
    info.launcher = "mpi";
    info.world_size = integer(get, "OMPI_COMM_WORLD_SIZE", 1, kMax);
    info.rank = integer(get, "OMPI_COMM_WORLD_RANK", 0, kMax);
    info.local_rank = integer_or(get, "OMPI_COMM_WORLD_LOCAL_RANK", 0, 0, kMax);
    info.local_world_size = integer_or(get, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, 1, kMax);
    if (info.world_size > info.local_world_size && !has(get, "MASTER_ADDR")) {
      throw ConfigError(
          "environment MASTER_ADDR: mpirun over several nodes needs the address of rank 0's node");
    }
    master_from_env(get, info);
    check(info, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK");
  }
  return info;
}

}  // namespace augcore::dist

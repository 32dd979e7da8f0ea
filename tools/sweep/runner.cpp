#include "sweep/runner.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>

#include "augcore/core/runtime.h"

namespace augcore::sweep {
namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop(int signal) {
  g_stop = signal;
}

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

pid_t start(const SweepRun& run, const std::string& program) {
  std::vector<std::string> args{program, "-c", run.recipe};
  for (const auto& o : run.sets) {
    args.push_back("--set");
    args.push_back(o.key + "=" + o.value);
  }
  args.insert(args.end(), {"-o", run.dir, "--resume", "auto"});
  fs::create_directories(fs::path(run.dir).parent_path());
  const std::string log = run.dir + ".log";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child: stops when the sweep dies, whatever killed it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(143);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  std::fprintf(stderr, "sweep: cannot run %s\n", program.c_str());
  ::_exit(127);
}

}  // namespace

std::string result_dir(const SweepRun& run) {
  if (fs::exists(fs::path(run.dir) / "summary.json")) return run.dir;
  if (!run.record.empty() && fs::exists(fs::path(run.record) / "summary.json")) return run.record;
  return "";
}

bool finished(const SweepRun& run) {
  return !result_dir(run).empty();
}

void keep_record(const SweepRun& run) {
  const fs::path from(run.dir);
  if (run.record.empty() || !fs::exists(from / "summary.json")) return;
  fs::create_directories(run.record);
  for (const char* f : {"metrics.jsonl", "config.yaml", "summary.json"}) {
    if (!fs::exists(from / f)) continue;
    std::ifstream in(from / f, std::ios::binary);
    write_file_atomic((fs::path(run.record) / f).string(),
                      std::string(std::istreambuf_iterator<char>(in), {}));
  }
}

std::vector<RunOutcome> run_all(const std::vector<SweepRun>& runs, const std::string& program,
                                int parallel) {
  std::vector<RunOutcome> outcomes(runs.size());
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::map<pid_t, std::size_t> running;
  std::map<pid_t, std::chrono::steady_clock::time_point> started;
  // Seed by seed (every configuration of the first seed, then of the next): a sweep stopped
  // part-way leaves complete pairs, which is what its comparisons need.
  std::map<std::int64_t, std::size_t> seed_rank;
  for (const auto& r : runs)
    seed_rank.emplace(r.seed, seed_rank.size());
  std::vector<std::size_t> order(runs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return seed_rank.at(runs[a].seed) < seed_rank.at(runs[b].seed);
  });
  std::size_t next = 0, todo = 0;
  for (const auto& r : runs)
    todo += !finished(r);
  std::size_t begun = 0;
  bool stopping = false;
  while (next < runs.size() || !running.empty()) {
    if (g_stop && !stopping) {
      stopping = true;
      fmt::print("sweep: stopping ({} running runs write their checkpoints)\n", running.size());
      for (const auto& [pid, i] : running)
        ::kill(pid, SIGTERM);
    }
    while (!stopping && next < runs.size() && static_cast<int>(running.size()) < parallel) {
      const std::size_t i = order[next++];
      if (finished(runs[i])) {
        outcomes[i].state = RunOutcome::State::kSkipped;
        continue;
      }
      const pid_t pid = start(runs[i], program);
      running[pid] = i;
      started[pid] = std::chrono::steady_clock::now();
      fmt::print("sweep: [{}/{}] {} seed {} started ({})\n", ++begun, todo, runs[i].config,
                 runs[i].seed, runs[i].dir);
      std::fflush(stdout);
    }
    if (stopping && next < runs.size()) {
      for (; next < runs.size(); ++next) {
        const std::size_t i = order[next];
        outcomes[i].state =
            finished(runs[i]) ? RunOutcome::State::kSkipped : RunOutcome::State::kInterrupted;
      }
    }
    if (running.empty()) continue;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) continue;  // EINTR: a stop signal arrived
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const std::size_t i = it->second;
    running.erase(it);
    const double minutes =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started[pid]).count() / 60;
    RunOutcome& o = outcomes[i];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && finished(runs[i])) {
      o.state = RunOutcome::State::kDone;
      keep_record(runs[i]);
      fmt::print("sweep: {} seed {} done in {:.1f} min\n", runs[i].config, runs[i].seed, minutes);
    } else if (stopping) {
      o.state = RunOutcome::State::kInterrupted;
      fmt::print("sweep: {} seed {} stopped; the next sweep resumes it\n", runs[i].config,
                 runs[i].seed);
    } else {
      o.state = RunOutcome::State::kFailed;
      o.message = last_line(runs[i].dir + ".log");
      fmt::print("sweep: {} seed {} FAILED ({}): {}\n", runs[i].config, runs[i].seed,
                 WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status)),
                 o.message);
    }
    std::fflush(stdout);
  }
  return outcomes;
}

}  // namespace augcore::sweep

#include "augcore/dist/local_launch.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace augcore::dist {

namespace {

std::atomic<int> g_forward{0};

void on_signal(int signal) {
  g_forward.store(signal);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("--nproc: cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("--nproc: cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> without_nproc(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--nproc") {
      ++i;
      continue;
    }
    if (argv[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

int launch_local(int nproc, const std::vector<std::string>& argv, double grace_s) {
  const int port = free_port();
  std::vector<pid_t> pids(nproc, -1);
  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  std::fprintf(stderr, "launch: %d processes on this machine, store 127.0.0.1:%d\n", nproc, port);
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("--nproc: fork failed");
    if (pid == 0) {
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("AUGCORE_NPROC", std::to_string(nproc).c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv("/proc/self/exe", args.data());
      std::fprintf(stderr, "launch: rank %d could not start: %s\n", r, strerror(errno));
      ::_exit(127);
    }
    pids[r] = pid;
  }
  int first_failure = 0, running = nproc, stage = 0;
  bool forwarded = false;  // a stop the user asked for: the processes exit 130/143 on purpose
  const auto grace = std::chrono::milliseconds(static_cast<std::int64_t>(grace_s * 1000));
  auto next_at = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    if (const int sig = g_forward.exchange(0)) {
      forwarded = true;
      for (const pid_t pid : pids) {
        if (pid > 0) ::kill(pid, sig);
      }
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (int r = 0; r < nproc; ++r) {
        if (pids[r] != done) continue;
        pids[r] = -1;
        --running;
        if (exit_code(status) != 0 && first_failure == 0) {
          first_failure = exit_code(status);
          if (running > 0 && !forwarded) {
            std::fprintf(stderr, "launch: rank %d %s; stopping the other %d process%s\n", r,
                         describe_status(status).c_str(), running, running == 1 ? "" : "es");
          }
        } else if (WIFSIGNALED(status)) {
          std::fprintf(stderr, "launch: rank %d %s\n", r, describe_status(status).c_str());
        }
      }
      continue;
    }
    // After a failure the others usually fail by themselves within a second (their next
    // collective) or after dist.timeout_s; whoever is left `grace_s` later gets SIGTERM, and
    // SIGKILL another `grace_s` later (a hung or stopped process).
    const auto now = std::chrono::steady_clock::now();
    if (first_failure != 0 && stage == 0) {
      stage = 1;
      next_at = now + grace;
    } else if (stage > 0 && stage < 3 && now >= next_at) {
      for (int r = 0; r < nproc; ++r) {
        if (pids[r] <= 0) continue;
        if (stage == 2) {
          std::fprintf(stderr, "launch: rank %d did not stop; killing it\n", r);
        }
        ::kill(pids[r], stage == 1 ? SIGTERM : SIGKILL);
      }
      ++stage;
      next_at = now + grace;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return first_failure;
}

}  // namespace augcore::dist

#include "augcore/train/loop/stop_signal.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace augcore::train {
namespace {

std::atomic<int> g_requested{0};
struct sigaction g_previous_int, g_previous_term;

void on_signal(int signal) {
  if (g_requested.exchange(signal) != 0) {
    static const char message[] = "\nsecond signal: exiting now without a checkpoint\n";
    const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    ::_exit(128 + signal);
  }
}

}  // namespace

StopSignal::StopSignal() {
  g_requested.store(0);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignal::~StopSignal() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_requested.store(0);
}

int StopSignal::requested() const {
  return g_requested.load();
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

Interrupted interruption(int signal, const std::string& where, const std::string& checkpoint) {
  return Interrupted(signal, "stopped by " + signal_name(signal) + " at " + where + "; " +
                                 checkpoint + " holds the run, continue it with --resume auto");
}

void end_of_step(int signal, bool due, const std::function<void()>& save, const std::string& where,
                 const std::string& checkpoint,
                 const std::function<void(const std::string&)>& report) {
  if (signal != 0 || due) save();
  if (signal == 0) return;
  const Interrupted stopped = interruption(signal, where, checkpoint);
  report(stopped.what());
  throw stopped;
}

}  // namespace augcore::train

// Graceful stops: SIGINT/SIGTERM ask a training loop to finish its step, checkpoint and exit;
// a second signal exits at once.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace augcore::train {

// Installs the SIGINT/SIGTERM handlers for its lifetime and restores the previous ones after.
// The handlers only record the signal; the loop polls requested() between steps.
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0.
  int requested() const;
};

// A run stopped by a signal after writing its checkpoint; programs exit with exit_code().
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message)
      : std::runtime_error(message), signal_(signal) {}
  int signal() const { return signal_; }
  // 128 + the signal number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
  int exit_code() const { return 128 + signal_; }

 private:
  int signal_;
};

// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int signal);

// The Interrupted a training loop throws after writing `checkpoint` at `where` (e.g. "epoch 2
// step 7/12 (global step 19)").
Interrupted interruption(int signal, const std::string& where, const std::string& checkpoint);

// The end of an optimizer step: calls `save` when a periodic checkpoint is `due` or `signal`
// (StopSignal::requested(), or what the ranks agreed on) asks to stop; on a stop, passes the
// message to `report` and throws the Interrupted.
void end_of_step(int signal, bool due, const std::function<void()>& save, const std::string& where,
                 const std::string& checkpoint,
                 const std::function<void(const std::string&)>& report);

}  // namespace augcore::train

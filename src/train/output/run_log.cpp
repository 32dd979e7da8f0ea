#include "augcore/train/output/run_log.h"

#include <unistd.h>

#include <cstdio>

namespace augcore::train {

RunLog::RunLog(const std::string& path, bool quiet) : tty_(::isatty(1) != 0), quiet_(quiet) {
  if (!quiet_) file_.open(path, std::ios::app);
}

void RunLog::line(const std::string& text) {
  if (quiet_) return;
  if (live_) std::fputs("\n", stdout);
  live_ = false;
  std::fputs((text + "\n").c_str(), stdout);
  std::fflush(stdout);
  file_ << text << "\n";
  file_.flush();
}

void RunLog::progress(std::int64_t step, std::int64_t every,
                      const std::function<std::string()>& text) {
  const bool due = step % every == 0;
  if (quiet_) return;
  if (!tty_) {
    if (due) line(text());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!due && now - last_live_ < std::chrono::milliseconds(500)) return;
  last_live_ = now;
  std::fputs(("\r\033[K" + text()).c_str(), stdout);
  std::fflush(stdout);
  live_ = true;
}

}  // namespace augcore::train

#include "augcore/train/run_log.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace augcore::train {

RunLog::RunLog(const std::string& path) : file_(path, std::ios::app), tty_(::isatty(1) != 0) {}

void RunLog::line(const std::string& text) {
  if (live_) std::fputs("\n", stdout);
  live_ = false;
  std::fputs((text + "\n").c_str(), stdout);
  std::fflush(stdout);
  file_ << text << "\n";
  file_.flush();
}

void RunLog::progress(const std::string& text, std::int64_t step, std::int64_t every) {
  if (tty_) {
    std::fputs(("\r\033[K" + text).c_str(), stdout);
    std::fflush(stdout);
    live_ = true;
  } else if (step % every == 0) {
    line(text);
  }
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.6g}", v);
}

}  // namespace augcore::train

// Run-directory output shared by the training programs: log lines, live progress, JSON numbers.
#pragma once

#include <fstream>
#include <string>

namespace augcore::train {

// Lines to stdout and the run's train.log; on a terminal, progress is one live line.
class RunLog {
 public:
  explicit RunLog(const std::string& path);
  void line(const std::string& text);
  // Overwritten in place on a terminal; printed as a line every `every` steps otherwise.
  void progress(const std::string& text, std::int64_t step, std::int64_t every);

 private:
  std::ofstream file_;
  bool tty_;
  bool live_ = false;
};

// A number for JSON output ("null" when not finite).
std::string json_number(double v);

}  // namespace augcore::train

// Run-directory output shared by the training programs: log lines and live progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>

namespace augcore::train {

// Lines to stdout and the run's train.log; on a terminal, progress is one live line.
class RunLog {
 public:
  // `quiet`: writes nothing anywhere (data-parallel ranks other than 0).
  explicit RunLog(const std::string& path, bool quiet = false);
  void line(const std::string& text);
  // A line every `every` steps; on a terminal instead one line overwritten in place, also
  // between those steps but at most every half second. `text` is called only when printed
  // (it may read figures from the GPU, which waits for it).
  void progress(std::int64_t step, std::int64_t every, const std::function<std::string()>& text);

 private:
  std::ofstream file_;
  bool tty_;
  bool quiet_;
  bool live_ = false;
  std::chrono::steady_clock::time_point last_live_{};
};

}  // namespace augcore::train

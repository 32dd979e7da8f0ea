// A run's metric records: metrics.jsonl (per epoch), steps.jsonl (per step) and their
// TensorBoard mirror in the same directory.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace augcore::train {

class EventWriter;

// Named figures of one record, in the order they are written.
using Record = std::vector<std::pair<std::string, double>>;

struct MetricsLogOptions {
  bool write = true;        // false: writes nothing (data-parallel ranks other than 0)
  bool steps = false;       // also steps.jsonl (train.step_log)
  bool tensorboard = true;  // mirror every figure into an events.out.tfevents.* file
  // The run continues itself: the JSON logs (already cut back to the checkpoint by
  // open_run_dir) are kept and the event files are rewritten from them, so that TensorBoard
  // shows exactly the JSON logs' figures; otherwise earlier event files are deleted.
  bool continuing = false;
};

// Each figure goes to the JSON line (key unchanged; non-finite values as null) and to
// TensorBoard as the scalar "epoch/<key>" at step = epoch, or "step/<key>" at step = step.
class MetricsLog {
 public:
  MetricsLog(const std::string& dir, const MetricsLogOptions& options);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // {"epoch": epoch, <figures>...} to metrics.jsonl.
  void epoch(std::int64_t epoch, const Record& figures);
  // {"step": step, "epoch": epoch, <figures>...} to steps.jsonl (when enabled).
  void step(std::int64_t step, std::int64_t epoch, const Record& figures);
  bool steps_enabled() const { return steps_.is_open(); }

 private:
  void replay(const std::string& path, const std::string& index, const std::string& prefix);
  // One line of `indices` (as integers) then `figures` to `out`; the figures to TensorBoard
  // as <prefix><key> at step `at`.
  void write(std::ofstream& out, const std::vector<std::pair<std::string, std::int64_t>>& indices,
             const std::string& prefix, std::int64_t at, const Record& figures);
  std::ofstream metrics_;
  std::ofstream steps_;
  std::unique_ptr<EventWriter> events_;
};

}  // namespace augcore::train

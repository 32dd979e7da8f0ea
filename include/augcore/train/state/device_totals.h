// Running sums of per-step training figures kept on the training device, read only where printed or
// saved.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace augcore::train {

// A training step adds its loss, correct count and metrics here without waiting for the GPU;
// `read()` synchronises once for all of them. The sums are float64 and added in the order the
// steps ran, so they equal, bit for bit, sums a host loop would make of the same values (exact
// resume compares them).
class DeviceTotals {
 public:
  // Continues from `start` (a checkpoint's sums; empty for a new epoch) at global step `step`.
  DeviceTotals(const std::map<std::string, double>& start, c10::Device device,
               std::int64_t step = 0);
  // totals[key] += value × weight, value a 0-dim tensor on the device (not waited for).
  void add(const std::string& key, const at::Tensor& value, double weight);
  // totals[key] += value, for figures the host already has (image counts).
  void add(const std::string& key, double value);
  // Every total, read from the device in one transfer.
  std::map<std::string, double> read() const;
  // read(), combined by `combine` when given (summed over data-parallel ranks, so that every
  // rank decides alike), and a TrainingError when the "loss" total is not finite: some step
  // after the previous checked read and up to `step` (global; of 0-based `epoch`) had an inf/NaN
  // loss. `last_checkpoint` is named in the message as the place to go back to.
  std::map<std::string, double> read_checked(
      std::int64_t step, std::int64_t epoch, const std::string& last_checkpoint,
      const std::function<std::map<std::string, double>(const std::map<std::string, double>&)>&
          combine = nullptr);

 private:
  c10::Device device_;
  std::map<std::string, at::Tensor> on_device_;
  std::map<std::string, double> on_host_;
  std::int64_t checked_step_;
};

}  // namespace augcore::train

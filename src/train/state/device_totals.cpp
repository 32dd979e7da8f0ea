#include "augcore/train/state/device_totals.h"

#include <ATen/ATen.h>
#include <fmt/core.h>

#include <cmath>
#include <filesystem>

#include <vector>

#include "augcore/train/loop/trainer.h"

namespace augcore::train {

DeviceTotals::DeviceTotals(const std::map<std::string, double>& start, c10::Device device,
                           std::int64_t step)
    : device_(device), on_host_(start), checked_step_(step) {}

void DeviceTotals::add(const std::string& key, const at::Tensor& value, double weight) {
  auto it = on_device_.find(key);
  if (it == on_device_.end()) {
    const auto host = on_host_.find(key);
    const double initial = host == on_host_.end() ? 0.0 : host->second;
    if (host != on_host_.end()) on_host_.erase(host);
    it = on_device_
             .emplace(key,
                      at::full({}, initial, at::TensorOptions().dtype(at::kDouble).device(device_)))
             .first;
  }
  it->second.add_(value.detach().to(at::kDouble).mul(weight));
}

void DeviceTotals::add(const std::string& key, double value) {
  on_host_[key] += value;
}

std::map<std::string, double> DeviceTotals::read() const {
  std::map<std::string, double> out = on_host_;
  if (on_device_.empty()) return out;
  std::vector<at::Tensor> values;
  values.reserve(on_device_.size());
  for (const auto& [key, total] : on_device_)
    values.push_back(total);
  const at::Tensor host = at::stack(values).cpu();
  const double* v = host.data_ptr<double>();
  std::size_t i = 0;
  for (const auto& [key, total] : on_device_)
    out[key] = v[i++];
  return out;
}

std::map<std::string, double> DeviceTotals::read_checked(
    std::int64_t step, std::int64_t epoch, const std::string& last_checkpoint,
    const std::function<std::map<std::string, double>(const std::map<std::string, double>&)>&
        combine) {
  auto sums = combine ? combine(read()) : read();
  const double loss = sums["loss"];
  if (!std::isfinite(loss)) {
    const std::string where = step - checked_step_ <= 1
                                  ? fmt::format("at step {}", step)
                                  : fmt::format("at step {} or in the {} steps before it", step,
                                                step - checked_step_ - 1);
    throw TrainingError(fmt::format(
        "non-finite loss ({}) {} (epoch {}); stopping. The last good checkpoint is {}", loss, where,
        epoch + 1, std::filesystem::exists(last_checkpoint) ? last_checkpoint : "(none yet)"));
  }
  checked_step_ = step;
  return sums;
}

}  // namespace augcore::train

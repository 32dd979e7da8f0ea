#include "augcore/train/output/metrics_log.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "augcore/train/output/tensorboard.h"

namespace augcore::train {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Json number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

}  // namespace

MetricsLog::MetricsLog(const std::string& dir, const MetricsLogOptions& options) {
  if (!options.write) return;
  const fs::path d(dir);
  metrics_.open((d / "metrics.jsonl").string(), std::ios::app);
  if (options.steps) steps_.open((d / "steps.jsonl").string(), std::ios::app);
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    if (is_event_file(e.path().filename().string())) stale.push_back(e.path());
  }
  for (const auto& path : stale)
    fs::remove(path, ec);
  if (!options.tensorboard) return;
  events_ = std::make_unique<EventWriter>(dir);
  if (options.continuing) {
    replay((d / "metrics.jsonl").string(), "epoch", "epoch/");
    replay((d / "steps.jsonl").string(), "step", "step/");
    events_->flush();
  }
}

MetricsLog::~MetricsLog() = default;

void MetricsLog::replay(const std::string& path, const std::string& index,
                        const std::string& prefix) {
  std::ifstream in(path);
  std::string text;
  const double now = now_seconds();
  while (std::getline(in, text)) {
    const Json line = Json::parse(text, nullptr, false);
    if (!line.is_object() || !line.contains(index) || !line[index].is_number_integer()) continue;
    const auto at = line[index].get<std::int64_t>();
    for (const auto& [key, value] : line.items()) {
      if (key == "step" || key == "epoch" || !value.is_number()) continue;
      events_->scalar(prefix + key, value.get<double>(), at, now);
    }
  }
}

void MetricsLog::epoch(std::int64_t epoch, const Record& figures) {
  if (!metrics_.is_open()) return;
  write(metrics_, {{"epoch", epoch}}, "epoch/", epoch, figures);
}

void MetricsLog::step(std::int64_t step, std::int64_t epoch, const Record& figures) {
  if (!steps_.is_open()) return;
  write(steps_, {{"step", step}, {"epoch", epoch}}, "step/", step, figures);
}

void MetricsLog::write(std::ofstream& out,
                       const std::vector<std::pair<std::string, std::int64_t>>& indices,
                       const std::string& prefix, std::int64_t at, const Record& figures) {
  Json line;
  for (const auto& [key, value] : indices)
    line[key] = value;
  const double now = now_seconds();
  for (const auto& [key, value] : figures) {
    line[key] = number(value);
    if (events_ && std::isfinite(value)) events_->scalar(prefix + key, value, at, now);
  }
  out << line.dump() << "\n";
  out.flush();
  if (events_) events_->flush();
}

}  // namespace augcore::train

#include "common/run_files.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace augcore::cli {

std::vector<Figures> read_jsonl(const std::string& path) {
  std::vector<Figures> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object()) continue;
    Figures f;
    for (const auto& [key, value] : record.items()) {
      if (value.is_number()) f[key] = value.get<double>();
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<double> figure(const Figures& record, const std::string& key) {
  const auto it = record.find(key);
  if (it == record.end()) return std::nullopt;
  return it->second;
}

}  // namespace augcore::cli

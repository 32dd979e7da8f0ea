// Reading a run directory's JSON logs (metrics.jsonl, steps.jsonl, summary.json).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace augcore::cli {

// One JSON-lines record: its numeric fields by key (nulls and other types left out).
using Figures = std::map<std::string, double>;

// The records of a JSON-lines file, in order; a line that is not a JSON object (a write cut
// short) is skipped. Empty when the file is absent.
std::vector<Figures> read_jsonl(const std::string& path);

// A figure of a record, if present.
std::optional<double> figure(const Figures& record, const std::string& key);

}  // namespace augcore::cli

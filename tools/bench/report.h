// The benchmark suite's results: rows of named figures, one report per LibTorch toolchain,
// written together as JSON and as the Markdown page docs/benchmarks.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace augcore::bench {

// One measured row: its section ("loader", "step", "overhead", "augment", "gpu"), what it
// measured, and its figures by name (absent = not measured). A ratio timed over rounds has
// its interval beside it: ratio_low and ratio_high, and the interval's coverage.
struct Row {
  std::string section;
  std::map<std::string, std::string> text;
  std::map<std::string, double> numbers;
  std::optional<double> number(const std::string& key) const;
  std::string str(const std::string& key) const;
};

// Whether a target holds: over a figure's whole 95 % interval (met), over none of it (missed),
// or the interval holds the target (undecided: the machine's noise decides it).
enum class Verdict { kMet, kMissed, kUndecided, kNotMeasured };

// A target of the performance issue, checked against the rows.
struct Target {
  std::string what;
  std::string measured;  // "1.23× [1.18–1.30] (resnet20)", or "not measured"
  Verdict verdict = Verdict::kNotMeasured;
  // Not met (missed or undecided), and for every figure that falls short the method's essential
  // pass alone (its floor, section "floor") misses the target: the design cannot meet it here.
  bool floor_above = false;
};

struct Report {
  std::string libtorch;  // the version the suite was built with, e.g. "2.11.0+cu130"
  std::string command;
  std::string date;
  std::map<std::string, std::string> machine;  // cpu, cores, memory, os, libtorch, python
  std::vector<Row> rows;
  std::vector<Target> targets;
  double seconds = 0;  // the suite's wall time
};

// A row's ratio `key` with its interval where it has one: "1.08× [1.02–1.15]", with the
// interval's coverage when it falls short of 95 % (too few rounds, as in a --quick run); "—"
// when the row lacks it.
std::string ratio_text(const Row& r, const std::string& key);

// The reports of every toolchain, ordered by version; `to_json` is what `from_json` reads.
std::string to_json(const std::vector<Report>& reports);
std::string to_markdown(const std::vector<Report>& reports);
// The reports in a file written by `to_json` (also the older one-report form); throws on a
// file that is neither.
std::vector<Report> from_json(const std::string& text);
// `reports` with `report` in place of the one of its toolchain (the same LibTorch major
// version), ordered by major version.
std::vector<Report> merge(std::vector<Report> reports, Report report);

}  // namespace augcore::bench

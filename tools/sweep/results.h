// A sweep's results: top-1 per configuration over seeds, as Markdown, CSV and a curve PNG.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sweep/grid.h"

namespace augcore::sweep {

struct Spread {
  double mean = 0, std = 0;  // std: sample standard deviation (n - 1); 0 when n = 1
  int n = 0;
};

Spread spread(const std::vector<double>& values);

struct ConfigResult {
  std::string name;
  Spread final_top1;  // the last epoch's top-1 on the grid's split: the headline
  Spread best_top1;   // the best evaluated epoch's, picked on that same split
  Spread train_minutes;
  std::map<std::int64_t, double> final_by_seed;  // for differences paired by seed
  int missing = 0;                               // runs of this config without a finished result
  // Top-1 over epochs on the grid's split: epochs evaluated in every finished run, with mean
  // and std.
  std::vector<double> epochs;
  std::vector<Spread> curve;
};

struct Results {
  std::vector<ConfigResult> configs;
  std::vector<std::string> run_rows;  // runs.csv lines (without the header)
};

// Reads every run's metrics.jsonl (finished runs only).
Results collect(const Grid& grid, const std::vector<SweepRun>& runs);

// The difference to `base` paired by seed (the same seed means the same initialisation, data
// order and labelled subset), as table cells: "mean [95 % interval]", the two-sided paired
// t-test's p, and the verdict ("higher"/"lower" only at p < 0.05, else "no evidence either
// way"). Dashes when fewer than two seeds pair up.
struct PairedCells {
  std::string difference, p, verdict;
};
PairedCells paired_difference(const ConfigResult& r, const ConfigResult& base);

// The Markdown section: heading, command, table (mean ± std (n), paired difference to the
// first configuration with a noise verdict, best-epoch figures labelled as such), the curves.
std::string markdown(const Grid& grid, const Results& results, const std::string& command,
                     const std::string& image);

// Writes <output>/results.md, results.csv (per configuration), runs.csv (per run) and
// curves.png. Returns the path of the PNG.
std::string write_results(const Grid& grid, const Results& results, const std::string& command);

// Puts the Markdown section into `doc` between its "sweep:NAME" markers (replace_doc_section)
// and copies the curves next to it as images/sweep_NAME.png.
void update_doc(const std::string& doc, const Grid& grid, const Results& results,
                const std::string& command, const std::string& png);

}  // namespace augcore::sweep

// Sweep grid files: recipes x overrides x seeds, read from YAML and expanded into runs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace augcore::sweep {

// One `--set key=value` of a grid, with the grid line it came from (for errors).
struct Override {
  std::string key;
  std::string value;
  std::string where;  // "grid.yaml:12"
};

// One row of the results table: a recipe with its overrides.
struct GridConfig {
  std::string name;
  std::string recipe;  // path of the recipe YAML (relative to the working directory)
  std::vector<Override> sets;
  std::string where;
};

struct Grid {
  std::string path;    // the grid file
  std::string name;    // heading of the results
  std::string output;  // run directories go to <output>/<config>/seed<seed>
  // Where each finished run's small files (metrics.jsonl, summary.json, config.yaml) are kept,
  // as <records>/<config>/seed<seed>, for committing beside the grid: the table regenerates and
  // the sweep skips recorded runs on a machine without the run directories. Empty: not kept.
  std::string records;
  std::vector<std::int64_t> seeds;
  std::vector<std::string> seed_keys;  // keys set to each seed (default: seed)
  int parallel = 1;                    // runs at a time
  int threads = 0;                     // intra-op threads per run; 0 = cores / parallel
  std::vector<Override> sets;          // overrides of every run, before each config's own
  std::vector<GridConfig> configs;
  std::string description;          // free text printed above the table
  std::string metric = "val_top1";  // the figure tabulated: val_top1 or ema_val_top1 (EMA weights)
  // Where top-1 is measured: "test" (the recipe's data.val) or "validation": then every run
  // holds `holdout_per_class` images of every class out of data.train (and data.unlabelled) and
  // evaluates on them, the test split left untouched for the settings chosen.
  std::string split = "test";
  std::int64_t holdout_per_class = 500;
  // Pairs of configuration names (A, B) whose paired difference A - B gets its own row.
  std::vector<std::pair<std::string, std::string>> compare;
};

// One training run of a sweep.
struct SweepRun {
  std::string config;  // GridConfig::name
  std::int64_t seed = 0;
  std::string recipe;
  std::vector<Override> sets;  // grid-wide, config, seed and threads, in that order
  std::string dir;
  std::string record;  // <records>/<config>/seed<seed>, or empty
};

// Reads and checks a grid file: every key known, every recipe present, and every expanded run
// a valid mra_train recipe (checked against the recipe schema). Throws ConfigError naming the
// grid file and line.
Grid load_grid(const std::string& path);

// The grid's runs, config by config, seed by seed.
std::vector<SweepRun> expand(const Grid& grid);

}  // namespace augcore::sweep

#include "sweep/grid.h"

#include <filesystem>
#include <set>
#include <thread>

#include "augcore/config/config.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/train/tasks/recipe.h"

namespace augcore::sweep {
namespace fs = std::filesystem;
using config::Node;

namespace {

[[noreturn]] void fail(const Node& at, const std::string& what) {
  throw ConfigError(at.origin().str() + ": " + what);
}

void only_keys(const Node& map, const std::set<std::string>& allowed, const std::string& what) {
  for (const auto& [key, value] : map.entries()) {
    if (allowed.count(key) == 0) {
      std::string list;
      for (const auto& k : allowed)
        list += (list.empty() ? "" : ", ") + k;
      fail(value, what + ": unknown key '" + key + "' (known: " + list + ")");
    }
  }
}

const Node& scalar(const Node& map, const std::string& key, const std::string& what) {
  const Node* v = map.find(key);
  if (!v) fail(map, what + ": missing '" + key + "'");
  if (!v->is_scalar() || v->text().empty()) fail(*v, what + "." + key + ": must be a value");
  return *v;
}

std::int64_t integer(const Node& v, const std::string& what, std::int64_t lo, std::int64_t hi) {
  try {
    std::size_t used = 0;
    const long long n = std::stoll(v.text(), &used);
    if (used == v.text().size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  fail(v, what + ": '" + v.text() + "' is not an integer in [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "]");
}

std::vector<Override> overrides(const Node* map, const std::string& what) {
  std::vector<Override> out;
  if (!map) return out;
  if (!map->is_map()) fail(*map, what + ": must be a map of key.path: value");
  for (const auto& [key, value] : map->entries()) {
    const std::string text =
        value.is_scalar() && !value.text().empty() ? value.text() : config::to_yaml(value);
    out.push_back(Override{key, text, value.origin().str()});
  }
  return out;
}

// Checks that a run's recipe with its overrides is a valid mra_train recipe.
void check_run(const SweepRun& run, const std::string& where) {
  Node root = config::load_file(run.recipe);
  for (const auto& o : run.sets) {
    try {
      config::apply_override(root, o.key + "=" + o.value);
    } catch (const ConfigError& e) {
      throw ConfigError(o.where + ": " + o.key + ": " + e.what());
    }
  }
  try {
    config::Config::from_node(root, train::recipe_schema());
  } catch (const ConfigError& e) {
    // An override's errors name its origin "--set key=value": name the grid's line instead.
    std::string what = e.what();
    for (const auto& o : run.sets) {
      const std::string origin = "--set " + o.key + "=" + o.value;
      for (auto at = what.find(origin); at != std::string::npos; at = what.find(origin)) {
        what.replace(at, origin.size(), o.where);
      }
    }
    throw ConfigError(where + ": config '" + run.config + "' is not a valid recipe: " + what);
  }
}

// The overrides that evaluate `run` on a validation split held out of its training data:
// data.val becomes data.train's dataset restricted to the held-out images, and data.train
// (and data.unlabelled, when it is the training set's unlabelled rest) leave them out.
std::vector<Override> validation_overrides(const Grid& grid, const SweepRun& run) {
  Node root = config::load_file(run.recipe);
  for (const auto& o : run.sets)
    config::apply_override(root, o.key + "=" + o.value);
  const Node* data = root.find("data");
  const Node* train = data ? data->find("train") : nullptr;
  if (!train || !train->is_map()) {
    throw ConfigError(grid.path + ": split: validation: config '" + run.config +
                      "' has no data.train map to hold a validation split out of");
  }
  const std::string where = grid.path + " (split: validation)";
  const std::string per_class = std::to_string(grid.holdout_per_class);
  Node val = *train;
  for (const char* key : {"labelled_per_class", "labelled_rest", "subset_seed",
                          "long_tail_imbalance", "long_tail_max", "limit"}) {
    val.erase(key);
  }
  val.set("holdout_per_class", Node::scalar(per_class));
  val.set("holdout_only", Node::scalar("true"));
  std::vector<Override> out{{"data.train.holdout_per_class", per_class, where},
                            {"data.val", config::to_yaml(val), where}};
  const Node* unlabelled = data->find("unlabelled");
  const Node* rest =
      unlabelled && unlabelled->is_map() ? unlabelled->find("labelled_rest") : nullptr;
  if (rest && rest->text() == "true") {
    out.push_back({"data.unlabelled.holdout_per_class", per_class, where});
  }
  return out;
}

}  // namespace

Grid load_grid(const std::string& path) {
  const Node root = config::read_yaml_file(path);
  if (!root.is_map()) fail(root, "a sweep grid must be a map");
  only_keys(root,
            {"name", "description", "output", "records", "seeds", "seed_keys", "parallel",
             "threads", "metric", "split", "holdout_per_class", "set", "configs", "compare"},
            "grid");
  Grid g;
  g.path = path;
  g.name = scalar(root, "name", "grid").text();
  g.output = scalar(root, "output", "grid").text();
  if (const Node* d = root.find("description")) g.description = d->text();
  if (root.find("records")) g.records = scalar(root, "records", "grid").text();
  const Node* seeds = root.find("seeds");
  if (!seeds || !seeds->is_sequence() || seeds->items().empty()) {
    fail(seeds ? *seeds : root, "grid.seeds: must be a non-empty list of integers");
  }
  std::set<std::int64_t> unique;
  for (const auto& s : seeds->items()) {
    g.seeds.push_back(integer(s, "grid.seeds", 0, 9000000000000000LL));
    if (!unique.insert(g.seeds.back()).second) fail(s, "grid.seeds: seed " + s.text() + " twice");
  }
  g.seed_keys = {"seed"};
  if (const Node* keys = root.find("seed_keys")) {
    if (!keys->is_sequence() || keys->items().empty()) {
      fail(*keys, "grid.seed_keys: must be a non-empty list of key paths");
    }
    g.seed_keys.clear();
    for (const auto& k : keys->items())
      g.seed_keys.push_back(k.text());
  }
  if (const Node* p = root.find("parallel"))
    g.parallel = static_cast<int>(integer(*p, "grid.parallel", 1, 256));
  if (const Node* t = root.find("threads"))
    g.threads = static_cast<int>(integer(*t, "grid.threads", 0, 1024));
  if (g.threads == 0) {
    g.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / g.parallel);
  }
  if (const Node* m = root.find("metric")) {
    g.metric = m->text();
    if (g.metric != "val_top1" && g.metric != "ema_val_top1") {
      fail(*m, "grid.metric: '" + g.metric + "' is not val_top1 or ema_val_top1");
    }
  }
  if (const Node* s = root.find("split")) {
    g.split = s->text();
    if (g.split != "test" && g.split != "validation") {
      fail(*s, "grid.split: '" + g.split + "' is not test or validation");
    }
  }
  if (const Node* h = root.find("holdout_per_class")) {
    if (g.split != "validation") fail(*h, "grid.holdout_per_class: needs split: validation");
    g.holdout_per_class = integer(*h, "grid.holdout_per_class", 1, 1LL << 40);
  }
  g.sets = overrides(root.find("set"), "grid.set");
  const Node* configs = root.find("configs");
  if (!configs || !configs->is_sequence() || configs->items().empty()) {
    fail(configs ? *configs : root, "grid.configs: must be a non-empty list");
  }
  std::set<std::string> names;
  for (const auto& c : configs->items()) {
    if (!c.is_map()) fail(c, "grid.configs: each entry must be a map with name and recipe");
    only_keys(c, {"name", "recipe", "set"}, "configs entry");
    GridConfig gc;
    gc.where = c.origin().str();
    gc.name = scalar(c, "name", "configs entry").text();
    if (gc.name.find_first_of("/ \t") != std::string::npos || gc.name == "." || gc.name == "..") {
      fail(c, "configs entry: name '" + gc.name + "' must not contain '/' or spaces");
    }
    if (!names.insert(gc.name).second) fail(c, "configs entry: name '" + gc.name + "' twice");
    const Node& recipe = scalar(c, "recipe", "configs entry");
    gc.recipe = recipe.text();
    if (!fs::is_regular_file(gc.recipe)) {
      fail(recipe, "configs entry '" + gc.name + "': recipe '" + gc.recipe + "' does not exist");
    }
    gc.sets = overrides(c.find("set"), "configs entry '" + gc.name + "'.set");
    g.configs.push_back(std::move(gc));
  }
  if (const Node* pairs = root.find("compare")) {
    if (!pairs->is_sequence()) fail(*pairs, "grid.compare: must be a list of [A, B] name pairs");
    for (const auto& pair : pairs->items()) {
      if (!pair.is_sequence() || pair.items().size() != 2) {
        fail(pair, "grid.compare: each entry must be a pair [A, B] of configuration names");
      }
      for (const auto& name : pair.items()) {
        if (names.count(name.text()) == 0) {
          fail(name, "grid.compare: no configuration named '" + name.text() + "'");
        }
      }
      g.compare.emplace_back(pair.items()[0].text(), pair.items()[1].text());
    }
  }
  // Every run's recipe is checked now, not when its turn comes.
  const auto runs = expand(g);
  for (std::size_t i = 0; i < runs.size(); i += g.seeds.size()) {
    check_run(runs[i], g.configs[i / g.seeds.size()].where);
  }
  return g;
}

std::vector<SweepRun> expand(const Grid& grid) {
  std::vector<SweepRun> runs;
  for (const auto& c : grid.configs) {
    for (const auto seed : grid.seeds) {
      SweepRun r;
      r.config = c.name;
      r.seed = seed;
      r.recipe = c.recipe;
      r.sets = grid.sets;
      r.sets.insert(r.sets.end(), c.sets.begin(), c.sets.end());
      for (const auto& key : grid.seed_keys)
        r.sets.push_back(Override{key, std::to_string(seed), grid.path + " (seed_keys)"});
      r.sets.push_back(Override{"threads", std::to_string(grid.threads), grid.path + " (threads)"});
      if (grid.split == "validation") {
        const auto v = validation_overrides(grid, r);
        r.sets.insert(r.sets.end(), v.begin(), v.end());
      }
      const fs::path leaf = fs::path(c.name) / ("seed" + std::to_string(seed));
      r.dir = (fs::path(grid.output) / leaf).string();
      if (!grid.records.empty()) r.record = (fs::path(grid.records) / leaf).string();
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

}  // namespace augcore::sweep

// augcore_plot: loss, accuracy and learning-rate curves of run directories as one PNG.
#include <fmt/core.h>

#include <filesystem>

#include "augcore/core/error.h"
#include "common/cli.h"
#include "common/plot.h"
#include "common/run_files.h"

namespace {

using augcore::cli::Figures;

// The series of `key` over `x` in records that have both.
augcore::plot::Series series(const std::string& name, const std::vector<Figures>& records,
                             const std::string& x, const std::string& key) {
  augcore::plot::Series s{name, {}, {}, {}, {}};
  for (const auto& r : records) {
    const auto xv = augcore::cli::figure(r, x), yv = augcore::cli::figure(r, key);
    if (!xv || !yv) continue;
    s.x.push_back(*xv);
    s.y.push_back(*yv);
  }
  return s;
}

// Run names without the path prefix they all share ("a/b/seed0", "a/b/seed1": "seed0", "seed1").
std::vector<std::string> short_names(const std::vector<std::string>& dirs) {
  std::vector<std::vector<std::string>> parts;
  for (const auto& d : dirs) {
    std::vector<std::string> p;
    for (const auto& e : std::filesystem::path(d).lexically_normal())
      if (!e.empty() && e != ".") p.push_back(e.string());
    parts.push_back(p);
  }
  std::size_t common = 0;
  while (dirs.size() > 1) {
    bool same = true;
    for (const auto& p : parts)
      same = same && p.size() > common + 1 && p[common] == parts[0][common];
    if (!same) break;
    ++common;
  }
  std::vector<std::string> names;
  for (const auto& p : parts) {
    std::string n;
    for (std::size_t i = common; i < p.size(); ++i)
      n += (n.empty() ? "" : "/") + p[i];
    names.push_back(n.empty() ? "run" : n);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"augcore_plot: loss, accuracy and learning-rate curves of runs (overlaid) as PNG"};
  std::vector<std::string> dirs;
  std::string output = "curves.png";
  app.add_option("runs", dirs, "run directories (holding metrics.jsonl)")->required();
  app.add_option("--output,-o", output, "the PNG to write");
  return cli::run_main(app, argc, argv, [&] {
    plot::Panel loss{"training loss (dashed: validation)", "epoch", "loss", {}, true, true};
    plot::Panel steps{"training loss per step (steps.jsonl)", "step", "loss", {}, true, true};
    plot::Panel top1{"top-1 (solid: validation, dashed: training)", "epoch", "%", {}, false, true};
    plot::Panel lr{"learning rate", "epoch", "lr", {}, false, true};
    const auto names = short_names(dirs);
    for (std::size_t i = 0; i < dirs.size(); ++i) {
      const std::string& dir = dirs[i];
      const std::string& name = names[i];
      const int colour = static_cast<int>(i) + 1;
      const auto metrics = cli::read_jsonl((std::filesystem::path(dir) / "metrics.jsonl").string());
      if (metrics.empty()) throw DataError(dir + "/metrics.jsonl: missing or holds no records");
      const auto add = [&](plot::Panel& panel, plot::Series s, bool dashed) {
        s.colour = colour;
        s.dashed = dashed;
        if (!s.x.empty()) panel.series.push_back(std::move(s));
      };
      add(loss, series(name, metrics, "epoch", "train_loss"), false);
      add(loss, series(name + " sub-model", metrics, "epoch", "train_loss_sub"), false);
      add(loss, series(name + " val", metrics, "epoch", "val_loss"), true);
      add(top1, series(name + " val", metrics, "epoch", "val_top1"), false);
      add(top1, series(name + " train", metrics, "epoch", "train_top1"), true);
      add(lr, series(name, metrics, "epoch", "lr"), false);
      add(steps,
          series(name, cli::read_jsonl((std::filesystem::path(dir) / "steps.jsonl").string()),
                 "step", "loss"),
          false);
    }
    plot::write_png(output, {loss, top1, lr, steps}, 2, 1400, 900);
    fmt::print("wrote {}\n", output);
    return 0;
  });
}

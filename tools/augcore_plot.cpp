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

}  // namespace

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"augcore_plot: loss, accuracy and learning-rate curves of runs (overlaid) as PNG"};
  std::vector<std::string> dirs;
  std::string output = "curves.png";
  app.add_option("runs", dirs, "run directories (holding metrics.jsonl)")->required();
  app.add_option("--output,-o", output, "the PNG to write");
  return cli::run_main(app, argc, argv, [&] {
    plot::Panel loss{"training loss", "epoch", "loss", {}, true};
    plot::Panel steps{"training loss per step (steps.jsonl)", "step", "loss", {}, true};
    plot::Panel top1{"top-1", "epoch", "%", {}};
    plot::Panel lr{"learning rate", "epoch", "lr", {}};
    for (const auto& dir : dirs) {
      const auto metrics = cli::read_jsonl((std::filesystem::path(dir) / "metrics.jsonl").string());
      if (metrics.empty()) throw DataError(dir + "/metrics.jsonl: missing or holds no records");
      std::string name = std::filesystem::path(dir).lexically_normal().string();
      while (!name.empty() && name.back() == '/')
        name.pop_back();
      loss.series.push_back(series(name, metrics, "epoch", "train_loss"));
      for (const char* extra : {"train_loss_sub", "val_loss"}) {
        auto s = series(name + " " + extra, metrics, "epoch", extra);
        if (!s.x.empty()) loss.series.push_back(std::move(s));
      }
      top1.series.push_back(series(name + " val", metrics, "epoch", "val_top1"));
      top1.series.push_back(series(name + " train", metrics, "epoch", "train_top1"));
      lr.series.push_back(series(name, metrics, "epoch", "lr"));
      steps.series.push_back(series(
          name, cli::read_jsonl((std::filesystem::path(dir) / "steps.jsonl").string()), "step",
          "loss"));
    }
    plot::write_png(output, {loss, top1, lr, steps}, 2, 1400, 900);
    fmt::print("wrote {}\n", output);
    return 0;
  });
}

#include "sweep/results.h"

#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "augcore/core/runtime.h"
#include "augcore/eval/statistics.h"
#include "common/doc_section.h"
#include "common/plot.h"
#include "common/run_files.h"
#include "sweep/runner.h"

namespace augcore::sweep {
namespace fs = std::filesystem;

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  for (const double v : values)
    s.mean += v / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (const double v : values)
      ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

namespace {

// The split a grid's figures are measured on, as captions name it.
std::string split_name(const Grid& grid) {
  return grid.split == "validation" ? "validation-split" : "test-split";
}

std::string mean_std(const Spread& s, int digits = 2) {
  if (s.n == 0) return "—";
  if (s.n == 1) return fmt::format("{:.{}f} (n = 1)", s.mean, digits);
  return fmt::format("{:.{}f} ± {:.{}f} ({})", s.mean, digits, s.std, digits, s.n);
}

}  // namespace

// The paired test of r against base. The verdict waits for every planned seed: a test taken at
// each interim look and believed at the first p < 0.05 would claim effects that are not there
// far more often than one time in twenty.
PairedCells paired_difference(const ConfigResult& r, const ConfigResult& base,
                              std::size_t planned) {
  std::vector<double> d;
  for (const auto& [seed, top1] : r.final_by_seed) {
    const auto b = base.final_by_seed.find(seed);
    if (b != base.final_by_seed.end()) d.push_back(top1 - b->second);
  }
  if (d.size() < 2) return {"—", "—", "—"};
  const eval::PairedTest t = eval::paired_t_test(d);
  const std::string n =
      t.n < static_cast<int>(base.final_by_seed.size()) ? fmt::format(" (n = {})", t.n) : "";
  return {fmt::format("{:+.2f} [{:+.2f}, {:+.2f}]{}", t.mean, t.ci_low, t.ci_high, n),
          t.p < 0.001 ? "< 0.001" : fmt::format("{:.3f}", t.p),
          static_cast<std::size_t>(t.n) < planned
              ? fmt::format("none yet ({} of {} seeds)", t.n, planned)
          : t.p < 0.05 ? (t.mean > 0 ? "higher" : "lower")
                       : "no evidence either way"};
}

Results collect(const Grid& grid, const std::vector<SweepRun>& runs) {
  Results out;
  for (const auto& c : grid.configs) {
    ConfigResult r;
    r.name = c.name;
    std::vector<double> finals, bests, minutes;
    std::map<double, std::vector<double>> by_epoch;
    int finished_runs = 0;
    for (const auto& run : runs) {
      if (run.config != c.name) continue;
      const std::string dir = result_dir(run);
      const auto records = dir.empty()
                               ? std::vector<cli::Figures>{}
                               : cli::read_jsonl((fs::path(dir) / "metrics.jsonl").string());
      std::optional<double> last, best;
      double seconds = 0;
      for (const auto& rec : records) {
        seconds += cli::figure(rec, "epoch_seconds").value_or(0);
        const auto top1 = cli::figure(rec, grid.metric);
        if (!top1) continue;
        last = top1;
        best = best ? std::max(*best, *top1) : *top1;
      }
      if (dir.empty() || !last) {
        ++r.missing;
        continue;
      }
      ++finished_runs;
      for (const auto& rec : records) {
        if (const auto top1 = cli::figure(rec, grid.metric)) {
          by_epoch[cli::figure(rec, "epoch").value_or(0)].push_back(*top1);
        }
      }
      finals.push_back(*last);
      r.final_by_seed[run.seed] = *last;
      bests.push_back(*best);
      minutes.push_back(seconds / 60);
      out.run_rows.push_back(fmt::format("{},{},{:.4f},{:.4f},{:.2f},{}", c.name, run.seed, *last,
                                         *best, seconds / 60, dir));
    }
    r.final_top1 = spread(finals);
    r.best_top1 = spread(bests);
    r.train_minutes = spread(minutes);
    for (const auto& [epoch, values] : by_epoch) {
      if (static_cast<int>(values.size()) != finished_runs) continue;
      r.epochs.push_back(epoch);
      r.curve.push_back(spread(values));
    }
    out.configs.push_back(std::move(r));
  }
  return out;
}

std::string markdown(const Grid& grid, const Results& results, const std::string& command,
                     const std::string& image) {
  std::ostringstream md;
  md << "### " << grid.name << "\n\n";
  if (!grid.description.empty()) md << grid.description << "\n\n";
  std::size_t runs = grid.configs.size() * grid.seeds.size();
  md << fmt::format(
      "Regenerate: `{}` ({} runs: {} configurations × {} seed{}, {} at a time with {} thread{} "
      "each; grid `{}`).\n\n",
      command, runs, grid.configs.size(), grid.seeds.size(), grid.seeds.size() == 1 ? "" : "s",
      grid.parallel, grid.threads, grid.threads == 1 ? "" : "s", grid.path);
  if (!grid.records.empty()) {
    md << fmt::format(
        "Each finished run's metrics.jsonl, summary.json and config.yaml: `{}/<configuration>/"
        "seed<seed>/` (the table regenerates from them without the run directories).\n\n",
        grid.records);
  }
  double run_minutes = 0;
  for (const auto& r : results.configs)
    run_minutes += r.train_minutes.mean * r.train_minutes.n;
  md << fmt::format(
      "Training time: {:.0f} min summed over the finished runs (≈ {:.0f} min of wall time at {} at "
      "a time), on {} cores.\n\n",
      run_minutes, run_minutes / grid.parallel, grid.parallel, std::thread::hardware_concurrency());
  const ConfigResult& base = results.configs.front();
  const std::string weights = grid.metric == "ema_val_top1" ? " of the EMA weights" : "";
  md << (grid.split == "validation"
             ? fmt::format(
                   "Top-1 on the **validation split**: {} images of every class held out "
                   "of the training set (never trained on; the test split is not used).\n\n",
                   grid.holdout_per_class)
             : std::string("Top-1 on the **test split**.\n\n"));
  md << "| configuration | final top-1 %" << weights << " (mean ± std (n)) | − " << base.name
     << ", paired by seed: mean [95 % CI] | p | verdict"
     << " | best-epoch top-1 % † | training min/run |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : results.configs) {
    const PairedCells c =
        &r == &base ? PairedCells{"—", "—", "—"} : paired_difference(r, base, grid.seeds.size());
    md << "| " << r.name << " | " << mean_std(r.final_top1) << " | " << c.difference << " | " << c.p
       << " | " << c.verdict << " | " << mean_std(r.best_top1) << " | "
       << (r.train_minutes.n ? fmt::format("{:.1f}", r.train_minutes.mean) : "—") << " |\n";
  }
  if (!grid.compare.empty()) {
    md << "\n| comparison (paired by seed) | difference of final top-1 %: mean [95 % CI] | p | "
          "verdict |\n|---|---|---|---|\n";
    const auto find = [&](const std::string& name) -> const ConfigResult& {
      for (const auto& r : results.configs) {
        if (r.name == name) return r;
      }
      throw std::logic_error("no configuration " + name);
    };
    for (const auto& [a, b] : grid.compare) {
      const PairedCells c = paired_difference(find(a), find(b), grid.seeds.size());
      md << "| " << a << " − " << b << " | " << c.difference << " | " << c.p << " | " << c.verdict
         << " |\n";
    }
  }
  md << "\n† The best epoch is picked on the split the table reports: optimistic, shown only "
        "beside the final-epoch headline. Differences are paired by seed (same seed: same "
        "initialisation, data order and labelled subset): the mean of the per-seed differences "
        "with its 95 % confidence interval (Student's t) and the two-sided paired t-test's p. "
        "\"higher\" or \"lower\" only at p < 0.05; otherwise there is no evidence either way, "
        "and the interval says how large an effect the runs cannot rule out. While runs are "
        "missing the verdict waits (\"none yet\"): the test is made once, on every planned "
        "seed, not at each interim look.\n";
  int missing = 0;
  for (const auto& r : results.configs)
    missing += r.missing;
  if (missing > 0) {
    md << fmt::format("\n**{} of {} runs have no finished result yet**; their rows have n < {}.\n",
                      missing, runs, grid.seeds.size());
  }
  if (!image.empty()) md << "\n![" << split_name(grid) << " top-1 over epochs](" << image << ")\n";
  return md.str();
}

std::string write_results(const Grid& grid, const Results& results, const std::string& command) {
  const fs::path out(grid.output);
  fs::create_directories(out);
  std::string csv =
      "config,n,final_top1_mean,final_top1_std,best_top1_mean,best_top1_std,train_minutes_mean\n";
  for (const auto& r : results.configs) {
    csv += fmt::format("{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.2f}\n", r.name, r.final_top1.n,
                       r.final_top1.mean, r.final_top1.std, r.best_top1.mean, r.best_top1.std,
                       r.train_minutes.mean);
  }
  write_file_atomic((out / "results.csv").string(), csv);
  std::string runs = "config,seed,final_top1,best_top1,train_minutes,dir\n";
  for (const auto& row : results.run_rows)
    runs += row + "\n";
  write_file_atomic((out / "runs.csv").string(), runs);

  plot::Panel panel{grid.name + ": " + split_name(grid) + " top-1 (mean ± std over seeds)",
                    "epoch",
                    "top-1 %",
                    {}};
  for (const auto& r : results.configs) {
    plot::Series s{r.name, r.epochs, {}, {}, {}};
    for (const auto& p : r.curve) {
      s.y.push_back(p.mean);
      s.lo.push_back(p.mean - p.std);
      s.hi.push_back(p.mean + p.std);
    }
    panel.series.push_back(std::move(s));
  }
  const std::string png = (out / "curves.png").string();
  bool plotted = false;
  for (const auto& r : results.configs)
    plotted = plotted || !r.epochs.empty();
  if (plotted) plot::write_png(png, {panel}, 1, 1000, 560);
  write_file_atomic((out / "results.md").string(),
                    markdown(grid, results, command, plotted ? "curves.png" : ""));
  return plotted ? png : "";
}

void update_doc(const std::string& doc, const Grid& grid, const Results& results,
                const std::string& command, const std::string& png) {
  std::string image;
  if (!png.empty()) {
    const fs::path images = fs::path(doc).parent_path() / "images";
    fs::create_directories(images);
    image = "images/sweep_" + grid.name + ".png";
    fs::copy_file(png, fs::path(doc).parent_path() / image, fs::copy_options::overwrite_existing);
  }
  cli::replace_doc_section(doc, "sweep:" + grid.name, markdown(grid, results, command, image));
}

}  // namespace augcore::sweep

#include "sweep/results.h"

#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "augcore/core/runtime.h"
#include "common/doc_section.h"
#include "common/plot.h"
#include "common/run_files.h"
#include "sweep/runner.h"

namespace augcore::sweep {
namespace fs = std::filesystem;

namespace {

// Two-sided p of Student's t-test at |t| = 2 with `df` degrees of freedom: 1 − the density's
// integral over [−2, 2] (Simpson's rule, 2,000 intervals).
double p_at_two(int df) {
  const double v = df;
  const double c = std::exp(std::lgamma((v + 1) / 2) - std::lgamma(v / 2)) / std::sqrt(v * M_PI);
  const auto f = [&](double t) { return c * std::pow(1 + t * t / v, -(v + 1) / 2); };
  constexpr int kIntervals = 2000;
  const double h = 4.0 / kIntervals;
  double sum = f(-2) + f(2);
  for (int i = 1; i < kIntervals; ++i)
    sum += (i % 2 ? 4 : 2) * f(-2 + i * h);
  return 1 - sum * h / 3;
}

}  // namespace

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

std::string mean_std(const Spread& s, int digits = 2) {
  if (s.n == 0) return "—";
  if (s.n == 1) return fmt::format("{:.{}f} (n = 1)", s.mean, digits);
  return fmt::format("{:.{}f} ± {:.{}f} ({})", s.mean, digits, s.std, digits, s.n);
}

}  // namespace

std::string paired_difference(const ConfigResult& r, const ConfigResult& base) {
  std::vector<double> d;
  for (const auto& [seed, top1] : r.final_by_seed) {
    const auto b = base.final_by_seed.find(seed);
    if (b != base.final_by_seed.end()) d.push_back(top1 - b->second);
  }
  if (d.size() < 2) return "—";
  const Spread s = spread(d);
  const bool beyond = std::abs(s.mean) > 2 * s.std / std::sqrt(static_cast<double>(s.n));
  return fmt::format(
      "{:+.2f} ± {:.2f} ({}{})", s.mean, s.std, beyond ? "> 2 s.e." : "within 2 s.e.",
      s.n < static_cast<int>(base.final_by_seed.size()) ? fmt::format(", n = {}", s.n) : "");
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
      const auto records = cli::read_jsonl((fs::path(run.dir) / "metrics.jsonl").string());
      std::optional<double> last, best;
      double seconds = 0;
      for (const auto& rec : records) {
        seconds += cli::figure(rec, "epoch_seconds").value_or(0);
        const auto top1 = cli::figure(rec, grid.metric);
        if (!top1) continue;
        last = top1;
        best = best ? std::max(*best, *top1) : *top1;
      }
      if (!finished(run) || !last) {
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
                                         *best, seconds / 60, run.dir));
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
  const ConfigResult& base = results.configs.front();
  const std::string weights = grid.metric == "ema_val_top1" ? " of the EMA weights" : "";
  md << "| configuration | final top-1 %" << weights << " (mean ± std (n)) | vs " << base.name
     << ", paired by seed"
     << " | best-epoch top-1 % † | training min/run |\n|---|---|---|---|---|\n";
  for (const auto& r : results.configs) {
    md << "| " << r.name << " | " << mean_std(r.final_top1) << " | "
       << (&r == &base ? "—" : paired_difference(r, base)) << " | " << mean_std(r.best_top1)
       << " | " << (r.train_minutes.n ? fmt::format("{:.1f}", r.train_minutes.mean) : "—")
       << " |\n";
  }
  if (!grid.compare.empty()) {
    md << "\n| comparison (paired by seed) | difference of final top-1 % |\n|---|---|\n";
    const auto find = [&](const std::string& name) -> const ConfigResult& {
      for (const auto& r : results.configs) {
        if (r.name == name) return r;
      }
      throw std::logic_error("no configuration " + name);
    };
    for (const auto& [a, b] : grid.compare)
      md << "| " << a << " − " << b << " | " << paired_difference(find(a), find(b)) << " |\n";
  }
  md << "\n† The best epoch is picked on the validation split, which for Fashion-MNIST is its "
        "test split: optimistic, shown only beside the final-epoch headline. The "
        "difference is paired: the mean ± std of the per-seed differences (same seed: same "
        "initialisation, data order and labelled subset); \"> 2 s.e.\" when its mean exceeds "
        "twice its standard error.";
  const int seeds = static_cast<int>(grid.seeds.size());
  if (seeds > 1) {
    md << fmt::format(
        " With {} seeds that is weak evidence (a t-test with {} degree{} of freedom gives p ≈ "
        "{:.2f} at 2 s.e.); \"within 2 s.e.\" means no evidence either way.",
        seeds, seeds - 1, seeds == 2 ? "" : "s", p_at_two(seeds - 1));
  }
  md << "\n";
  int missing = 0;
  for (const auto& r : results.configs)
    missing += r.missing;
  if (missing > 0) {
    md << fmt::format("\n**{} of {} runs have no finished result yet**; their rows have n < {}.\n",
                      missing, runs, grid.seeds.size());
  }
  if (!image.empty()) md << "\n![validation top-1 over epochs](" << image << ")\n";
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

  plot::Panel panel{
      grid.name + ": validation top-1 (mean ± std over seeds)", "epoch", "top-1 %", {}};
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

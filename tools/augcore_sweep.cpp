// augcore_sweep: runs a grid of recipes x overrides x seeds and tabulates top-1 over seeds.
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "common/cli.h"
#include "sweep/grid.h"
#include "sweep/results.h"
#include "sweep/runner.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{
      "augcore_sweep: run a grid of recipes x overrides x seeds (skipping finished runs, "
      "resuming interrupted ones) and write the results table, CSV and curves"};
  std::string grid_path, doc;
  bool report_only = false, dry_run = false;
  app.add_option("--grid,-g", grid_path, "the sweep grid YAML (e.g. sweeps/fmnist_low_data.yaml)")
      ->required();
  int parallel = 0;
  app.add_option("--parallel", parallel,
                 "runs at a time, overriding the grid's `parallel` (threads per run stay the "
                 "grid's, so the results do not change)")
      ->check(CLI::Range(1, 256));
  app.add_flag("--report-only", report_only, "run nothing: tabulate the runs that exist");
  app.add_flag("--dry-run", dry_run, "check the grid and print the runs, then stop");
  app.add_option("--update-doc", doc,
                 "also put the table into this Markdown file (between sweep:NAME markers)");
  return cli::run_main(app, argc, argv, [&] {
    sweep::Grid grid = sweep::load_grid(grid_path);
    if (parallel > 0) grid.parallel = parallel;
    const auto runs = sweep::expand(grid);
    std::string command = "augcore_sweep --grid " + grid_path;
    if (!doc.empty()) command += " --update-doc " + doc;
    std::size_t done = 0;
    for (const auto& r : runs)
      done += sweep::finished(r);
    fmt::print("sweep {}: {} runs ({} finished), {} at a time, {} thread{} each, in {}\n",
               grid.name, runs.size(), done, grid.parallel, grid.threads,
               grid.threads == 1 ? "" : "s", grid.output);
    if (dry_run) {
      for (const auto& r : runs)
        fmt::print("  {} seed {}: {} -> {}{}\n", r.config, r.seed, r.recipe, r.dir,
                   sweep::finished(r) ? " (finished)" : "");
      return 0;
    }
    for (const auto& r : runs)
      sweep::keep_record(r);  // runs finished before the grid named its records
    int status = 0;
    if (!report_only) {
      const auto program =
          (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "mra_train").string();
      const auto t0 = std::chrono::steady_clock::now();
      const auto outcomes = sweep::run_all(runs, program, grid.parallel);
      int failed = 0, interrupted = 0;
      for (const auto& o : outcomes) {
        failed += o.state == sweep::RunOutcome::State::kFailed;
        interrupted += o.state == sweep::RunOutcome::State::kInterrupted;
      }
      fmt::print("sweep: {:.1f} min; {} failed, {} stopped or not started\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60,
                 failed, interrupted);
      if (interrupted > 0) return 130;
      if (failed > 0) status = 1;
    }
    const auto results = sweep::collect(grid, runs);
    const std::string png = sweep::write_results(grid, results, command);
    if (!doc.empty()) sweep::update_doc(doc, grid, results, command, png);
    fmt::print("{}", sweep::markdown(grid, results, command, ""));
    fmt::print("wrote {}/results.md, results.csv, runs.csv{}{}\n", grid.output,
               png.empty() ? "" : ", curves.png", doc.empty() ? "" : " and " + doc);
    return status;
  });
}

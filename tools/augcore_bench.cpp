// augcore_bench: throughput benchmarks of augcore's components.
#include <fmt/core.h>

#include <chrono>

#include "augcore/core/runtime.h"
#include "augcore/data/pipeline.h"
#include "augcore/train/recipe.h"
#include "common/cli.h"

namespace {

using namespace augcore;

int bench_loader(const cli::RecipeArgs& args, int workers, std::int64_t max_batches) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  cli::RecipeArgs with_workers = args;
  if (workers >= 0) with_workers.sets.push_back("data.loader.workers=" + std::to_string(workers));
  const config::Config cfg = cli::load_recipe(with_workers, schema);
  const config::Options root = cfg.root();
  configure_threads(root.integer("threads"));
  auto loader = data::make_loader(root.section("data"), data::Split::kTrain,
                                  static_cast<std::uint64_t>(root.integer("seed")));
  const auto loader_cfg = root.section("data").section("loader");
  loader->start_epoch(0);
  // The first batch pays for thread start-up and cold caches; time the rest.
  auto first = loader->next();
  const auto start = std::chrono::steady_clock::now();
  std::int64_t images = 0, batches = 0;
  while (max_batches == 0 || batches < max_batches) {
    auto batch = loader->next();
    if (!batch) break;
    images += batch->images.size(0);
    ++batches;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "loader: {} | workers {} | batch {} | {} batches, {} images in {:.3f} s = {:.0f} "
      "images/s\n",
      loader->dataset().description(), loader_cfg.integer("workers"),
      loader_cfg.integer("batch_size"), batches, images, seconds, images / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"augcore_bench: throughput benchmarks"};
  app.require_subcommand(1);
  cli::RecipeArgs args;
  int workers = -1;
  std::int64_t batches = 0;
  CLI::App* loader = app.add_subcommand("loader", "images/s of a recipe's training loader");
  cli::add_recipe_options(*loader, args);
  loader->add_option("--workers", workers, "loader threads (overrides data.loader.workers)")
      ->check(CLI::Range(0, 256));
  loader->add_option("--batches", batches, "batches to time after the first (0 = the epoch)")
      ->check(CLI::Range(0, 1000000));
  return cli::run_main(app, argc, argv, [&] { return bench_loader(args, workers, batches); });
}

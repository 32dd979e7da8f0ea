// mra_train: runs a training recipe. Until the trainer lands it runs the recipe's data pipeline.
#include <fmt/core.h>

#include <chrono>

#include "augcore/core/runtime.h"
#include "augcore/data/pipeline.h"
#include "augcore/train/recipe.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"mra_train: train a classifier from a YAML recipe"};
  cli::RecipeArgs args;
  cli::add_recipe_options(app, args);
  return cli::run_main(app, argc, argv, [&] {
    const config::Schema schema = train::recipe_schema();
    if (cli::handle_info_flags(args, schema)) return 0;
    const config::Config cfg = cli::load_recipe(args, schema);
    const config::Options root = cfg.root();
    const int threads = configure_threads(root.integer("threads"));
    const std::string run_dir = cli::prepare_run_dir(args, cfg);
    auto loader = data::make_loader(root.section("data"), data::Split::kTrain,
                                    static_cast<std::uint64_t>(root.integer("seed")));
    fmt::print("run directory: {} (resolved config: {}/config.yaml)\n", run_dir, run_dir);
    fmt::print("data: {}, {} batches/epoch, {} threads\n", loader->dataset().description(),
               loader->batches_per_epoch(), threads);
    const std::int64_t epochs = root.section("train").integer("epochs");
    for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      loader->start_epoch(epoch);
      std::int64_t images = 0;
      while (auto batch = loader->next())
        images += batch->images.size(0);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print("epoch {}/{}: loaded {} images in {:.2f} s = {:.0f} images/s ({} unreadable)\n",
                 epoch + 1, epochs, images, seconds, images / seconds, loader->bad_samples());
    }
    return 0;
  });
}

// mra_train: trains a classifier from a YAML recipe.
#include <fmt/core.h>

#include "augcore/core/runtime.h"
#include "augcore/train/recipe.h"
#include "augcore/train/trainer.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"mra_train: train a classifier from a YAML recipe"};
  cli::RecipeArgs args;
  train::RunOptions run;
  cli::add_recipe_options(app, args);
  app.add_option("--resume", run.resume,
                 "continue from a checkpoint, or 'auto' (run dir's last.pt)");
  app.add_flag("--eval-only", run.eval_only,
               "evaluate the --resume checkpoint (or model.pretrained) and stop");
  return cli::run_main(app, argc, argv, [&] {
    const config::Schema schema = train::recipe_schema();
    if (cli::handle_info_flags(args, schema)) return 0;
    const config::Config cfg = cli::load_recipe(args, schema);
    configure_threads(cfg.root().integer("threads"));
    run.run_dir = cli::prepare_run_dir(args, cfg);
    fmt::print("run directory: {}\n", run.run_dir);
    try {
      const auto summary = train::run_training(cfg, run);
      if (!run.eval_only) {
        fmt::print("done: {} epochs, val top-1 {:.2f}% (best {:.2f}%); run directory: {}\n",
                   summary.epochs_done, summary.last.top1, summary.best_top1, run.run_dir);
      }
    } catch (const train::TrainingError& e) {
      fmt::print(stderr, "training stopped: {}\n", e.what());
      return 1;
    }
    return 0;
  });
}

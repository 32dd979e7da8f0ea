// mra_train: trains a classifier from a YAML recipe.
#include <fmt/core.h>

#include "augcore/train/loop/trainer.h"
#include "augcore/train/tasks/recipe.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"mra_train: train a classifier from a YAML recipe"};
  cli::RecipeArgs args;
  train::RunOptions run;
  cli::add_recipe_options(app, args);
  cli::add_run_options(app, run);
  app.add_flag("--eval-only", run.eval_only,
               "evaluate the --resume checkpoint (or model.pretrained) and stop");
  return cli::run_main(app, argc, argv, [&] {
    return cli::run_recipe(args, train::recipe_schema(),
                           [&](const config::Config& cfg, const std::string& run_dir) {
                             run.run_dir = run_dir;
                             const auto s = train::run_training(cfg, run);
                             if (run.eval_only || !cli::primary()) return;
                             fmt::print(
                                 "done: {} epochs, val top-1 {:.2f}% (best {:.2f}%); run "
                                 "directory: {}\n",
                                 s.epochs_done, s.last.top1, s.best_top1, run_dir);
                           });
  });
}

// mae_pretrain: pretrains a masked autoencoder (the MRA augmentor) from a YAML recipe.
#include <fmt/core.h>

#include "augcore/train/tasks/mae_pretrain.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"mae_pretrain: pretrain a masked autoencoder with random masking"};
  cli::RecipeArgs args;
  train::RunOptions run;
  cli::add_recipe_options(app, args);
  cli::add_run_options(app, run);
  return cli::run_main(app, argc, argv, [&] {
    return cli::run_recipe(args, train::mae_recipe_schema(),
                           [&](const config::Config& cfg, const std::string& run_dir) {
                             run.run_dir = run_dir;
                             const auto s = train::run_mae_pretraining(cfg, run);
                             if (!cli::primary()) return;
                             fmt::print("done: {} epochs, loss {:.4f}; checkpoint {}/last.pt\n",
                                        s.epochs_done, s.last_loss, run_dir);
                           });
  });
}

// mae_pretrain: pretrains a masked autoencoder (the MRA augmentor) from a YAML recipe.
#include <fmt/core.h>

#include "augcore/core/runtime.h"
#include "augcore/train/mae_pretrain.h"
#include "common/cli.h"

int main(int argc, char** argv) {
  using namespace augcore;
  CLI::App app{"mae_pretrain: pretrain a masked autoencoder with random masking"};
  cli::RecipeArgs args;
  train::RunOptions run;
  cli::add_recipe_options(app, args);
  app.add_option("--resume", run.resume,
                 "continue from a checkpoint, or 'auto' (run dir's last.pt)");
  return cli::run_main(app, argc, argv, [&] {
    const config::Schema schema = train::mae_recipe_schema();
    if (cli::handle_info_flags(args, schema)) return 0;
    const config::Config cfg = cli::load_recipe(args, schema);
    configure_threads(cfg.root().integer("threads"));
    run.run_dir = cli::prepare_run_dir(args, cfg);
    fmt::print("run directory: {}\n", run.run_dir);
    try {
      const auto s = train::run_mae_pretraining(cfg, run);
      fmt::print("done: {} epochs, loss {:.4f}; checkpoint {}/last.pt\n", s.epochs_done,
                 s.last_loss, run.run_dir);
    } catch (const train::TrainingError& e) {
      fmt::print(stderr, "training stopped: {}\n", e.what());
      return 1;
    }
    return 0;
  });
}

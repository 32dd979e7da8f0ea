// Command-line plumbing shared by the programs: recipe options, info flags, error exits.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "augcore/config/config.h"
#include "augcore/train/loop/trainer.h"

namespace augcore::cli {

struct RecipeArgs {
  std::string config;             // empty: the built-in recipe
  std::vector<std::string> sets;  // --set key.path=value, in order
  std::string output;             // --output overrides the recipe's `output`
  bool list = false;              // --list
  bool list_recipes = false;      // --list-recipes
  std::string help_component;     // --help-component NAME
  int nproc = 1;                  // --nproc N: data-parallel processes on this machine
  int tensorboard = -1;           // --tensorboard 1, --no-tensorboard 0, neither -1
};

// Adds --config, --set, --output, --list, --list-recipes, --help-component, --nproc and
// --tensorboard/--no-tensorboard to `app`.
void add_recipe_options(CLI::App& app, RecipeArgs& args);

// Adds --resume and --overwrite, which fill `run`, to a training program's `app`.
void add_run_options(CLI::App& app, train::RunOptions& run);

// Prints the registry (--list), the recipes (--list-recipes) or one component's options
// (--help-component); returns true
// when it did, so the program should stop. Throws ConfigError for an unknown component.
bool handle_info_flags(const RecipeArgs& args, const config::Schema& schema);

// The validated recipe: the config file or named recipe (or built-in defaults) with the
// overrides applied.
config::Config load_recipe(const RecipeArgs& args, const config::Schema& schema);

// The run directory: --output, else `output`, else runs/<config stem>.
std::string prepare_run_dir(const RecipeArgs& args, const config::Config& config);

// The body of a training program: validates the recipe against `schema` (or answers --list /
// --help-component), sets threads, prepares and prints the run directory, then calls `train`
// with the config and run directory. A train::TrainingError exits 1 with its reason, a
// train::Interrupted 128 + its signal. With --nproc N (N > 1) it instead runs this program as N
// data-parallel processes (dist::launch_local) once the recipe is valid.
int run_recipe(const RecipeArgs& args, const config::Schema& schema,
               const std::function<void(const config::Config&, const std::string&)>& train);

// When OpenBLAS chose generic kernels on a CPU with AVX2 (blas_kernels_generic), runs this
// program again from the start with OPENBLAS_CORETYPE set, so that it chooses by CPU features
// (3-4x faster fp32 matrix products); returns without doing anything otherwise.
void use_fast_blas_kernels(char** argv);

// The command line run_main was given.
const std::vector<std::string>& command_line();

// Whether this process prints the run's messages: rank 0 of a data-parallel job, or the only one.
bool primary();

// Parses the command line and runs `body` (after use_fast_blas_kernels), turning every error into
// one line on stderr: usage and config/data errors exit 2, anything else exits 1. Under torchrun
// the line also goes to TORCHELASTIC_ERROR_FILE when set.
int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace augcore::cli

#include "common/cli.h"

#include <fmt/core.h>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/malloc.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/dist/launch.h"
#include "augcore/dist/local_launch.h"
#include "augcore/train/loop/stop_signal.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/output/run_log.h"
#include "common/recipes.h"

namespace augcore::cli {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> g_argv;

// torchrun's error file (torch.distributed.elastic's format), so that its failure report
// shows this process's reason.
void write_error_file(const std::string& message) {
  const char* path = std::getenv("TORCHELASTIC_ERROR_FILE");
  if (!path || !*path) return;
  const nlohmann::json error{
      {"message",
       {{"message", message},
        {"extraInfo",
         {{"py_callstack", message}, {"timestamp", std::to_string(std::time(nullptr))}}}}}};
  std::ofstream(path) << error.dump() << "\n";
}

}  // namespace

const std::vector<std::string>& command_line() {
  return g_argv;
}

bool primary() {
  return dist::detect_launch().rank == 0;
}

void add_run_options(CLI::App& app, train::RunOptions& run) {
  app.add_option("--resume", run.resume,
                 "continue from a checkpoint, or 'auto' (the run directory's newest)");
  app.add_flag("--overwrite", run.overwrite,
               "replace the run already in the run directory (refused otherwise)");
}

void add_recipe_options(CLI::App& app, RecipeArgs& args) {
  app.add_option("--config,-c", args.config,
                 "recipe YAML file, or a recipe's name (see --list-recipes; default: the built-in "
                 "recipe)");
  app.add_flag("--list-recipes", args.list_recipes,
               "list the recipes --config finds by name, with their one-line headers, and exit");
  app.add_option("--set", args.sets, "override one key: --set train.epochs=3 (repeatable)")
      ->take_last()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--output,-o", args.output, "run directory (overrides the recipe's output)");
  app.add_flag("--list", args.list, "list every registered component and exit");
  app.add_option("--help-component", args.help_component,
                 "print a component's options and exit (also 'recipe')");
  app.add_option("--nproc", args.nproc,
                 "train with N data-parallel processes on this machine (no launcher needed)")
      ->check(CLI::Range(1, 1024));
  app.add_flag_function(
      "--tensorboard,!--no-tensorboard",
      [&args](std::int64_t count) { args.tensorboard = count > 0 ? 1 : 0; },
      "write (or not) TensorBoard event files into the run directory (train.tensorboard)");
}

namespace {

void describe_schema(const config::Schema& schema, const std::string& prefix) {
  for (const auto& o : schema.options()) {
    fmt::print("  {}{} ({}, default {}): {}\n", prefix, o.name, o.type_name(), o.default_text(),
               o.doc);
    if (o.type == config::ValueType::Section) describe_schema(*o.section, prefix + o.name + ".");
  }
}

}  // namespace

bool handle_info_flags(const RecipeArgs& args, const config::Schema& schema) {
  const auto& registry = config::Registry::global();
  if (args.list) {
    fmt::print("{}", config::describe_registry(registry));
    return true;
  }
  if (args.list_recipes) {
    for (const auto& r : list_recipes())
      fmt::print("{:<40} {}\n", r.name, r.summary);
    return true;
  }
  if (args.help_component.empty()) return false;
  if (args.help_component == "recipe") {
    fmt::print("recipe keys:\n");
    describe_schema(schema, "");
    return true;
  }
  const auto found = registry.lookup(args.help_component);
  if (found.empty()) {
    std::vector<std::string> names{"recipe"};
    for (const auto* c : registry.list())
      names.push_back(c->name);
    const std::string s = config::closest_match(args.help_component, names);
    throw ConfigError("--help-component: no component named '" + args.help_component + "'" +
                      (s.empty() ? " (see --list)" : " (did you mean '" + s + "'?)"));
  }
  for (const auto* c : found)
    fmt::print("{}", config::describe_component(*c));
  return true;
}

config::Config load_recipe(const RecipeArgs& args, const config::Schema& schema) {
  config::Node root = args.config.empty() ? config::Node::map(config::Origin{"built-in recipe", 0})
                                          : config::load_file(resolve_recipe(args.config));
  for (const auto& s : args.sets)
    config::apply_override(root, s);
  if (args.tensorboard >= 0) {
    config::apply_override(
        root, std::string("train.tensorboard=") + (args.tensorboard ? "true" : "false"));
  }
  return config::Config::from_node(root, schema);
}

std::string prepare_run_dir(const RecipeArgs& args, const config::Config& config) {
  std::string dir = args.output;
  if (dir.empty()) dir = config.root().string("output");
  if (dir.empty()) {
    dir = "runs/" +
          (args.config.empty() ? std::string("default") : fs::path(args.config).stem().string());
  }
  return dir;
}

int run_recipe(const RecipeArgs& args, const config::Schema& schema,
               const std::function<void(const config::Config&, const std::string&)>& train) {
  if (handle_info_flags(args, schema)) return 0;
  const config::Config cfg = load_recipe(args, schema);
  if (args.nproc > 1 && !std::getenv("AUGCORE_NPROC")) {
    if (dist::detect_launch().distributed()) {
      throw ConfigError("--nproc: this process is already one of a launcher's (RANK is set)");
    }
    const c10::Device device = select_device(cfg.root().string("device"));
    if (device.is_cuda() && compat::cuda_device_count() < args.nproc) {
      throw ConfigError(
          fmt::format("--nproc: {} processes train on CUDA but there are {} CUDA "
                      "devices",
                      args.nproc, compat::cuda_device_count()));
    }
    return dist::launch_local(args.nproc, dist::without_nproc(g_argv));
  }
  configure_threads(cfg.root().integer("threads"), cfg.root().boolean("flush_denormal"));
  configure_malloc(cfg.root().boolean("retain_freed_memory"));
  const std::string run_dir = prepare_run_dir(args, cfg);
  if (primary()) fmt::print("run directory: {}\n", run_dir);
  try {
    train(cfg, run_dir);
  } catch (const train::TrainingError& e) {
    fmt::print(stderr, "training stopped: {}\n", e.what());
    write_error_file(std::string("training stopped: ") + e.what());
    return 1;
  } catch (const train::Interrupted& e) {
    fmt::print(stderr, "interrupted: {}\n", e.what());
    return e.exit_code();
  }
  return 0;
}

namespace {

// The message as one line: control bytes become \xNN.
std::string one_line(const std::string& message) {
  std::string out;
  for (const unsigned char c : message) {
    if (c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace

void use_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || !blas_kernels_generic()) return;
  // Empty: OpenBLAS chooses its kernels by CPU features when the process starts again.
  setenv("OPENBLAS_CORETYPE", "", 1);
  execv("/proc/self/exe", argv);
}

int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  use_fast_blas_kernels(argv);
  g_argv.assign(argv, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "usage error: " << one_line(e.what()) << " (see --help)\n";
    return kUsageExitCode;
  }
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << e.category() << ": " << one_line(e.what()) << "\n";
    write_error_file(e.category() + ": " + one_line(e.what()));
    return kUsageExitCode;
  } catch (const std::exception& e) {
    std::cerr << "error: " << one_line(e.what()) << "\n";
    write_error_file("error: " + one_line(e.what()));
    return 1;
  }
}

}  // namespace augcore::cli

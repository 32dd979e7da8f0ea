#include "common/checkpoint_model.h"

#include <filesystem>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/malloc.h"
#include "augcore/core/runtime.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/state/checkpoint.h"
#include "augcore/train/tasks/recipe.h"
#include "common/recipes.h"

namespace augcore::cli {

std::string checkpoint_label(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const std::string name = dir.filename().string();
  if (name.empty() || name == ".") return std::filesystem::path(path).stem().string();
  const bool seed = name.size() > 4 && name.rfind("seed", 0) == 0 &&
                    name.find_first_not_of("0123456789", 4) == std::string::npos;
  const std::string config = dir.parent_path().filename().string();
  return seed && !config.empty() ? config + "/" + name : name;
}

void add_checkpoint_options(CLI::App& app, CheckpointArgs& args) {
  app.add_option("--config", args.recipe.config,
                 "the recipe for data and model (default: the one each checkpoint holds)");
  app.add_option("--set", args.recipe.sets, "override a recipe key: key.path=value");
  app.add_option("--weights", args.weights, "which weights: model or ema")
      ->check(CLI::IsMember({"model", "ema"}));
}

CheckpointModel load_checkpoint_model(const std::string& path, const CheckpointArgs& args,
                                      data::Split split) {
  const RecipeArgs& recipe = args.recipe;
  const auto ckpt = train::load_checkpoint(path);
  config::Node root;
  if (!recipe.config.empty()) {
    root = config::load_file(resolve_recipe(recipe.config));
  } else if (ckpt.contains("config") && ckpt.at("config").isString()) {
    root = config::parse_yaml(ckpt.at("config").toStringRef(), path + " (its config)");
  } else {
    throw ConfigError(path + ": holds no recipe (not an mra_train checkpoint); pass --config");
  }
  for (const auto& s : recipe.sets)
    config::apply_override(root, s);
  config::apply_override(root, "model.pretrained=''");  // the checkpoint supplies the weights
  CheckpointModel m;
  m.config =
      std::make_unique<config::Config>(config::Config::from_node(root, train::recipe_schema()));
  const config::Options cfg = m.config->root();
  const config::Options data = cfg.section("data");
  m.device = select_device(cfg.string("device"));
  configure_threads(cfg.integer("threads"), cfg.boolean("flush_denormal"));
  configure_malloc(cfg.boolean("retain_freed_memory"));
  m.train = data::make_dataset(data.component("train"));
  m.loader = data::make_loader(data, split, static_cast<std::uint64_t>(cfg.integer("seed")));
  const auto shape = m.loader->sample_shape();
  const c10::IValue payload =
      args.weights == "ema" ? train::entry(ckpt, "ema", path) : c10::IValue(ckpt);
  m.model = train::recipe_classifier(cfg, shape, m.train->num_classes(), payload, path);
  m.model->to(m.device);
  m.model->eval();
  std::tie(m.mean, m.std) = data::normalisation(data, shape[0], m.device);
  return m;
}

}  // namespace augcore::cli

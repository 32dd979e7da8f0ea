#include "common/checkpoint_model.h"

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/runtime.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/checkpoint.h"
#include "augcore/train/recipe.h"
#include "common/recipes.h"

namespace augcore::cli {

CheckpointModel load_checkpoint_model(const std::string& path, const RecipeArgs& recipe,
                                      const std::string& weights, data::Split split) {
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
  m.train = data::make_dataset(data.component("train"));
  m.loader = data::make_loader(data, split, static_cast<std::uint64_t>(cfg.integer("seed")));
  const auto shape = m.loader->sample_shape();
  m.model =
      models::make_model(cfg.component("model"), {shape[0], m.train->num_classes(), shape[1]});
  const c10::IValue payload =
      weights == "ema" ? train::entry(ckpt, "ema", path) : c10::IValue(ckpt);
  const auto report =
      models::load_state_dict(*m.model, models::find_state_dict(payload, path), true);
  if (!report.ok()) throw DataError(path + ": does not fit the model: " + report.describe());
  m.model->to(m.device);
  m.model->eval();
  std::tie(m.mean, m.std) = data::normalisation(data, shape[0], m.device);
  return m;
}

}  // namespace augcore::cli

// A trained classifier rebuilt from an mra_train checkpoint and its recipe, with a loader for
// one evaluation split: what augcore_eval and augcore_fewshot start from.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/data/dataset.h"
#include "augcore/data/loader.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/classifier.h"
#include "common/cli.h"

namespace augcore::cli {

struct CheckpointModel {
  std::unique_ptr<config::Config> config;  // the recipe used
  c10::Device device = c10::kCPU;
  std::shared_ptr<data::Dataset> train;           // the recipe's training set (class count, counts)
  std::unique_ptr<data::Loader> loader;           // the evaluated split, in order
  std::shared_ptr<models::ClassifierImpl> model;  // in eval mode on `device`
  at::Tensor mean, std;                           // 1×C×1×1 normalisation on `device`
};

// A checkpoint's default name in tables: its run directory's name, with the configuration's
// for sweep runs ("mra_low/seed0"), or the file's stem when it has no directory.
std::string checkpoint_label(const std::string& path);

// What both programs take besides the checkpoint: the recipe to use and which weights.
struct CheckpointArgs {
  RecipeArgs recipe;  // only config and sets are used
  std::string weights = "model";
};

// Adds --config, --set and --weights (model or ema) to `app`.
void add_checkpoint_options(CLI::App& app, CheckpointArgs& args);

// Loads `path` (DataError when unreadable), takes its recipe from --config (with --set) or else
// the one the checkpoint holds (ConfigError when none), builds the model for the training set's
// classes and the split's image size, loads the chosen weights (DataError when they do not
// fit), sets threads and device from the recipe.
CheckpointModel load_checkpoint_model(const std::string& path, const CheckpointArgs& args,
                                      data::Split split);

}  // namespace augcore::cli

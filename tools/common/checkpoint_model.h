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

// Loads `path` (DataError when unreadable), takes its recipe from `recipe.config` (with
// `recipe.sets`) or else the one the checkpoint holds (ConfigError when none), builds the model
// for the training set's classes and the split's image size, loads `weights` ("model" or "ema";
// DataError when they do not fit), sets threads and device from the recipe.
CheckpointModel load_checkpoint_model(const std::string& path, const RecipeArgs& recipe,
                                      const std::string& weights, data::Split split);

}  // namespace augcore::cli

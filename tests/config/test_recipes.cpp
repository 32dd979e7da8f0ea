#include <gtest/gtest.h>

#include <filesystem>

#include "augcore/config/config.h"
#include "augcore/train/mae_pretrain.h"
#include "augcore/train/recipe.h"

namespace augcore {
namespace {

TEST(RecipesTest, EveryShippedRecipeValidates) {
  const std::filesystem::path configs = std::filesystem::path(AUGCORE_SOURCE_DIR) / "configs";
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    // mae_pretrain recipes are named mae_*.yaml; the others are mra_train recipes.
    const bool pretrain = entry.path().stem().string().rfind("mae_", 0) == 0;
    EXPECT_NO_THROW(config::Config::load(
        entry.path().string(), {}, pretrain ? train::mae_recipe_schema() : train::recipe_schema()));
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(RecipesTest, ImagenetLtInheritsTransformsAndSwitchesSampler) {
  const auto cfg = config::Config::load(
      std::string(AUGCORE_SOURCE_DIR) + "/configs/imagenet/imagenet_lt_base.yaml", {},
      train::recipe_schema());
  const auto data = cfg.root().section("data");
  EXPECT_EQ(data.component("train").name, "file_list");
  EXPECT_EQ(data.components("train_transforms").at(0).name, "random_resized_crop");
  EXPECT_EQ(data.section("loader").string("sampler"), "class_balanced");
  EXPECT_EQ(data.section("loader").integer("batch_size"), 256);
}

}  // namespace
}  // namespace augcore

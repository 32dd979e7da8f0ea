#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "augcore/config/config.h"
#include "augcore/train/tasks/mae_pretrain.h"
#include "augcore/train/tasks/recipe.h"

namespace augcore {
namespace {

// mae_pretrain recipes are named mae_*.yaml (but not mae_finetune_*.yaml, which fine-tune a
// ViT with mra_train); the others are mra_train recipes.
bool is_mae_pretrain(const std::filesystem::path& recipe) {
  const std::string stem = recipe.stem().string();
  return stem.rfind("mae_", 0) == 0 && stem.rfind("mae_finetune", 0) != 0;
}

TEST(RecipesTest, EveryShippedRecipeValidates) {
  const std::filesystem::path configs = std::filesystem::path(AUGCORE_SOURCE_DIR) / "configs";
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const bool pretrain = is_mae_pretrain(entry.path());
    EXPECT_NO_THROW(config::Config::load(
        entry.path().string(), {}, pretrain ? train::mae_recipe_schema() : train::recipe_schema()));
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

// A GPU recipe that sets its batch says how many GPUs it assumes and how many images each
// gets ("Assumes 8 GPUs x 64 images"), and the two multiply to the global batch.
TEST(RecipesTest, GpuRecipesStateTheirGpuCountAndPerGpuBatch) {
  const std::filesystem::path configs = std::filesystem::path(AUGCORE_SOURCE_DIR) / "configs";
  int checked = 0;
  for (const char* folder : {"imagenet", "finegrained"}) {
    for (const auto& entry : std::filesystem::directory_iterator(configs / folder)) {
      std::ifstream in(entry.path());
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      const bool sets_batch = text.find("batch_size:") != std::string::npos;
      const bool gpu = text.find("device: cuda") != std::string::npos;
      if (!sets_batch || (!gpu && text.find("Assumes") == std::string::npos)) continue;
      SCOPED_TRACE(entry.path().string());
      const bool pretrain = is_mae_pretrain(entry.path());
      const auto cfg =
          config::Config::load(entry.path().string(), {},
                               pretrain ? train::mae_recipe_schema() : train::recipe_schema());
      std::smatch m;
      ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(Assumes (\d+) GPUs? x (\d+) images)")));
      EXPECT_EQ(std::stoll(m[1]) * std::stoll(m[2]),
                cfg.root().section("data").section("loader").integer("batch_size"));
      ++checked;
    }
  }
  EXPECT_GE(checked, 5);
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

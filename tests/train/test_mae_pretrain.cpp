#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "augcore/config/yaml_io.h"
#include "augcore/core/pth.h"
#include "augcore/train/tasks/mae_pretrain.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore::train {
namespace {

config::Config recipe(const config::Schema& schema, const std::vector<std::string>& sets) {
  config::Node root = config::Node::map();
  for (const auto& s : sets)
    config::apply_override(root, s);
  return config::Config::from_node(root, schema);
}

TEST(MaePretrainTest, LearnsWritesFiguresAndFeedsMraTraining) {
  testing::TempDir dir;
  RunOptions run;
  run.run_dir = dir.file("mae");
  std::filesystem::create_directories(run.run_dir);
  const auto s = run_mae_pretraining(
      recipe(mae_recipe_schema(), {"data.train.limit=768", "data.val.limit=64", "train.epochs=3",
                                   "train.lr=0.002", "data.loader.batch_size=64", "threads=2"}),
      run);
  EXPECT_EQ(s.epochs_done, 3);
  EXPECT_EQ(s.steps, 3 * 12);
  std::ifstream metrics(dir.file("mae/metrics.jsonl"));
  std::vector<double> losses;
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    ASSERT_TRUE(record.contains("train_loss")) << line;
    losses.push_back(record["train_loss"].get<double>());
  }
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_LT(losses.back(), 0.8 * losses.front());  // it learns to reconstruct
  for (int e = 1; e <= 3; ++e) {
    EXPECT_TRUE(
        std::filesystem::exists(dir.file("mae/recon_epoch00" + std::to_string(e) + ".png")));
  }
  const auto ckpt = pth::load(dir.file("mae/last.pt")).toGenericDict();
  EXPECT_TRUE(ckpt.at("model").toGenericDict().contains("decoder_pred.weight"));
  EXPECT_EQ(ckpt.at("epoch").toInt(), 3);

  // The checkpoint drives MRA in a classifier run (normalisation read from the checkpoint).
  RunOptions train;
  train.run_dir = dir.file("cls");
  std::filesystem::create_directories(train.run_dir);
  const auto summary = run_training(
      recipe(recipe_schema(),
             {"data.train.limit=256", "data.val.limit=128", "train.epochs=1", "threads=2",
              "data.loader.batch_size=64",
              "policies=[{name: mra, preset: mae_tiny_patch4_28, in_chans: 1, checkpoint: " +
                  dir.file("mae/last.pt") + "}]"}),
      train);
  EXPECT_EQ(summary.steps, 4);
  EXPECT_GT(summary.last.images, 0);
}

}  // namespace
}  // namespace augcore::train

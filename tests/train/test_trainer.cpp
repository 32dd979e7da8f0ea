#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::train {
namespace {

config::Config small_recipe(const std::vector<std::string>& extra) {
  config::Node root = config::Node::map();
  for (const char* s : {"data.train.limit=1000", "data.val.limit=500", "data.loader.batch_size=50",
                        "train.epochs=3", "train.lr=0.05", "threads=2"}) {
    config::apply_override(root, s);
  }
  for (const auto& s : extra)
    config::apply_override(root, s);
  return config::Config::from_node(root, recipe_schema());
}

TEST(TrainerTest, SmokeRunOnAFewHundredFashionMnistImagesBeatsChance) {
  testing::TempDir dir;
  RunOptions run;
  run.run_dir = dir.path().string();
  const RunSummary s =
      run_training(small_recipe({"train.ema.enabled=true", "train.ema.decay=0.9"}), run);
  EXPECT_EQ(s.epochs_done, 3);
  EXPECT_EQ(s.steps, 3 * 20);
  EXPECT_GT(s.last.top1, 50.0);  // 10 classes: chance is 10%
  ASSERT_TRUE(s.last_ema.has_value());
  EXPECT_GT(s.last_ema->top1, 30.0);
  std::ifstream metrics(dir.file("metrics.jsonl"));
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    ++lines;
    EXPECT_NE(line.find("\"val_top5\""), std::string::npos);
    EXPECT_NE(line.find("\"ema_val_top1\""), std::string::npos);
  }
  EXPECT_EQ(lines, 3);
  const c10::IValue ckpt = pth::load(dir.file("last.pt"));
  const auto d = ckpt.toGenericDict();
  EXPECT_EQ(d.at("epoch").toInt(), 3);
  EXPECT_EQ(d.at("step").toInt(), 60);
  EXPECT_TRUE(d.at("model").toGenericDict().contains("fc.weight"));
  EXPECT_TRUE(d.contains("ema"));
  // PyTorch reads it with its safe loader (weights_only=True).
  const auto py =
      testing::run_python("pth_fixture.py", {"trainer-checkpoint", dir.file("last.pt")});
  EXPECT_EQ(py.exit_code, 0) << py.output;
  EXPECT_TRUE(std::filesystem::exists(dir.file("best.pt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("summary.json")));

  // A config that would change the trajectory cannot resume the run; nothing is written.
  run.resume = "auto";
  const auto before = std::filesystem::last_write_time(dir.file("last.pt"));
  const std::string message = testing::error_message<ConfigError>(
      [&] { run_training(small_recipe({"train.ema.enabled=true"}), run); });
  EXPECT_EQ(message.rfind("train.ema.decay: the config has '0.9998' but checkpoint ", 0), 0u)
      << message;
  EXPECT_EQ(std::filesystem::last_write_time(dir.file("last.pt")), before);
  // Resuming a finished run trains nothing more.
  const RunSummary again = run_training(
      small_recipe({"train.ema.enabled=true", "train.ema.decay=0.9", "threads=1"}), run);
  EXPECT_EQ(again.epochs_done, 3);
  EXPECT_EQ(again.steps, 60);
  run.eval_only = true;
  run.resume = dir.file("best.pt");
  const RunSummary eval = run_training(small_recipe({}), run);
  EXPECT_EQ(eval.last.images, 500);
  EXPECT_GT(eval.last.top1, 50.0);
}

TEST(TrainerTest, NonFiniteLossStopsWithTheStep) {
  testing::TempDir dir;
  RunOptions run;
  run.run_dir = dir.path().string();
  try {
    run_training(small_recipe({"train.lr=100"}), run);
    FAIL() << "training went on";
  } catch (const TrainingError& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite loss"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at step"), std::string::npos);
  }
}

TEST(TrainerTest, ImpossibleOptionsAreConfigErrors) {
  testing::TempDir dir;
  RunOptions run;
  run.run_dir = dir.path().string();
  EXPECT_THROW(run_training(small_recipe({"device=cuda"}), run), ConfigError);
  EXPECT_EQ(testing::error_message<ConfigError>([&] {
              run_training(small_recipe({"train.amp=bf16", "device=cpu"}), run);
            }),
            "train.amp: 'bf16' mixed precision needs a CUDA device; use none on CPU");
  EXPECT_THROW(run_training(small_recipe({"data.mean=[0.1, 0.2]"}), run), ConfigError);
  EXPECT_THROW(run_training(small_recipe({"train.accum_steps=100"}), run), ConfigError);
}

TEST(TrainerTest, TheBuiltInRecipeIsConfigsFashionMnistResnet20) {
  const auto file =
      config::Config::load(std::string(AUGCORE_SOURCE_DIR) + "/configs/fashion_mnist/resnet20.yaml",
                           {}, recipe_schema());
  const auto builtin = config::Config::from_node(config::Node::map(), recipe_schema());
  EXPECT_EQ(file.to_yaml(), builtin.to_yaml());
}

}  // namespace
}  // namespace augcore::train

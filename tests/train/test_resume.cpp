#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/fingerprint.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/output/run_dir.h"
#include "augcore/train/state/checkpoint.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore::train {
namespace {

namespace fs = std::filesystem;
using testing::error_message;
using testing::TempDir;

config::Config recipe(const std::vector<std::string>& overrides) {
  config::Node root = config::Node::map();
  for (const auto& s : overrides)
    config::apply_override(root, s);
  return config::Config::from_node(root, recipe_schema());
}

void write_checkpoint(const std::string& path, std::int64_t step) {
  auto d = pth::new_dict();
  d.insert("step", step);
  d.insert("epoch", std::int64_t{0});
  pth::save(d, path);
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ResumeTest, ConfigsThatChangeTheTrajectoryCannotResume) {
  const std::string saved = recipe({"train.lr=0.2"}).to_yaml();
  // Epochs, logging, checkpointing, threads, workers, output and validation may change.
  EXPECT_NO_THROW(
      check_resumable(saved,
                      recipe({"train.lr=0.2", "train.epochs=9", "train.log_every=3", "threads=1",
                              "data.loader.workers=0", "train.checkpoint_every_steps=5",
                              "output=elsewhere", "data.val.limit=10", "train.step_log=true"}),
                      "c.pt", recipe_schema()));
  EXPECT_EQ(error_message<ConfigError>(
                [&] { check_resumable(saved, recipe({}), "c.pt", recipe_schema()); }),
            "train.lr: the config has '0.1' but checkpoint c.pt was trained with '0.2'; "
            "resuming would not continue that run (use --overwrite to start over)");
  EXPECT_EQ(error_message<ConfigError>([&] {
              check_resumable(saved, recipe({"train.lr=0.2", "policies=[{name: cutout}]"}), "c.pt",
                              recipe_schema());
            }).rfind("policies", 0),
            0u);
  EXPECT_NE(error_message<ConfigError>([&] {
              check_resumable(saved, recipe({"train.lr=0.2", "data.loader.batch_size=64"}), "c.pt",
                              recipe_schema());
            }).find("data.loader.batch_size"),
            std::string::npos);
}

// A checkpoint written before a key existed resumes when the key holds its default, and not
// when the config sets it to something else.
TEST(ResumeTest, KeysAddedSinceTheCheckpointCountAsTheirDefaults) {
  const std::string saved =
      "seed: 0\ntrain: {lr: 0.2}\ndata:\n  train: {name: idx, split: train}\n";
  const config::Config now = recipe({"train.lr=0.2"});
  EXPECT_NO_THROW(check_resumable(saved, now, "old.pt", recipe_schema()));
  EXPECT_NE(error_message<ConfigError>([&] {
              check_resumable(saved, recipe({"train.lr=0.2", "data.train.long_tail_imbalance=10"}),
                              "old.pt", recipe_schema());
            }).find("data.train.long_tail_imbalance"),
            std::string::npos);
}

// A checkpoint written while random erasing's option was `probability` resumes under `p` with
// the same value, and not with another.
TEST(ResumeTest, RenamedKeysOfOldCheckpointsCompareUnderTheirNewName) {
  const std::string saved =
      "train: {lr: 0.2}\npolicies: [{name: random_erasing, probability: 0.25, mode: pixel}]\n";
  EXPECT_NO_THROW(check_resumable(
      saved, recipe({"train.lr=0.2", "policies=[{name: random_erasing, p: 0.25, mode: pixel}]"}),
      "old.pt", recipe_schema()));
  EXPECT_EQ(error_message<ConfigError>([&] {
              check_resumable(saved,
                              recipe({"train.lr=0.2",
                                      "policies=[{name: random_erasing, p: 0.5, mode: pixel}]"}),
                              "old.pt", recipe_schema());
            }).rfind("policies[0].p: the config has '0.5'", 0),
            0u);
}

TEST(ResumeTest, NewestCheckpointSkipsDamagedFilesAndFailsWhenAllAre) {
  TempDir dir;
  std::vector<std::string> skipped;
  EXPECT_EQ(newest_checkpoint(dir.path().string(), skipped), "");
  write_checkpoint(dir.file("best.pt"), 10);
  write_checkpoint(dir.file("last.pt"), 30);
  EXPECT_EQ(newest_checkpoint(dir.path().string(), skipped), dir.file("last.pt"));
  // A truncated last.pt: the older best.pt is the newest complete one.
  const std::string bytes = read(dir.file("last.pt"));
  testing::write_text(dir.file("last.pt"), bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(newest_checkpoint(dir.path().string(), skipped), dir.file("best.pt"));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(dir.file("last.pt")), std::string::npos);
  testing::write_text(dir.file("best.pt"), "not a checkpoint");
  EXPECT_NE(error_message<DataError>([&] {
              newest_checkpoint(dir.path().string(), skipped);
            }).find("--resume auto: no readable checkpoint in"),
            std::string::npos);
}

TEST(ResumeTest, ProgressRoundTripsAndDamagedEntriesAreDataErrors) {
  auto d = pth::new_dict();
  put_progress(d, Progress{3, 17, 200, 71.5, {{"loss", 12.25}, {"seen", 64}}});
  const auto p = read_progress(d, "c.pt");
  EXPECT_EQ(p.epoch, 3);
  EXPECT_EQ(p.batch, 17);
  EXPECT_EQ(p.step, 200);
  EXPECT_EQ(p.best_top1, 71.5);
  EXPECT_EQ(p.sums.at("loss"), 12.25);
  d.insert_or_assign("step", std::string("x"));
  EXPECT_EQ(error_message<DataError>([&] { read_progress(d, "c.pt"); }),
            "c.pt: checkpoint entry 'step' is not an integer (damaged or foreign file)");
  d.insert_or_assign("step", std::int64_t{-4});
  EXPECT_NE(error_message<DataError>([&] { read_progress(d, "c.pt"); }).find("is negative"),
            std::string::npos);
  EXPECT_EQ(d.erase("epoch"), 1u);
  EXPECT_EQ(error_message<DataError>([&] { read_progress(d, "c.pt"); }),
            "c.pt: checkpoint has no 'epoch' entry");
}

TEST(ResumeTest, TruncateJsonlKeepsLinesUpToTheCheckpoint) {
  TempDir dir;
  testing::write_text(dir.file("s.jsonl"),
                      "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": 1}\n"
                      "{\"step\": 3, \"loss\": 0.5}\n{\"step\": 10, \"loss\": 0.1}\n"
                      "{\"loss\": 7, \"note\": \"\\\"step\\\": 1\"}\n{\"step\": 1, \"lo");
  // The fifth line names "step": 1 only inside a string, the sixth was cut off by a kill:
  // both go.
  truncate_jsonl(dir.file("s.jsonl"), "step", 2);
  EXPECT_EQ(read(dir.file("s.jsonl")), "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": 1}\n");
  truncate_jsonl(dir.file("absent.jsonl"), "step", 2);
  EXPECT_FALSE(fs::exists(dir.file("absent.jsonl")));
}

TEST(RunDirTest, AnEarlierRunNeedsResumeOrOverwrite) {
  TempDir dir;
  const std::string d = dir.path().string();
  EXPECT_NE(check_run_dir(d, false, false).find("GiB free"), std::string::npos);
  testing::write_text(dir.file("train.log"), "a failed start\n");
  EXPECT_NO_THROW(check_run_dir(d, false, false));  // no checkpoint or metrics: not a run
  testing::write_text(dir.file("metrics.jsonl"), "{\"epoch\": 1}\n");
  EXPECT_EQ(error_message<ConfigError>([&] { check_run_dir(d, false, false); }),
            "output: '" + d +
                "' already holds a run; pass --resume auto to continue it or --overwrite to "
                "replace it");
  EXPECT_NO_THROW(check_run_dir(d, true, false));
  EXPECT_NO_THROW(check_run_dir(d, false, true));
  EXPECT_NE(error_message<ConfigError>([&] {
              check_run_dir(d, true, true);
            }).find("--overwrite: cannot be combined with resuming"),
            std::string::npos);
  // Only the run's own files go with --overwrite.
  testing::write_text(dir.file("notes.txt"), "mine");
  testing::write_text(dir.file("recon_epoch001.png"), "x");
  testing::write_text(dir.file("events.out.tfevents.1796078542.host.7"), "x");
  clear_run_dir(d);
  EXPECT_FALSE(fs::exists(dir.file("events.out.tfevents.1796078542.host.7")));
  EXPECT_FALSE(fs::exists(dir.file("metrics.jsonl")));
  EXPECT_FALSE(fs::exists(dir.file("recon_epoch001.png")));
  EXPECT_TRUE(fs::exists(dir.file("notes.txt")));
  EXPECT_NE(error_message<ConfigError>([] {
              check_run_dir("/proc/self/augcore", false, false);
            }).find("output: cannot create run directory '/proc/self/augcore'"),
            std::string::npos);
  EXPECT_NE(error_message<ConfigError>([] {
              check_run_dir("/proc/self", false, false);
            }).find("output: cannot write in '/proc/self'"),
            std::string::npos);
}

TEST(RunDirTest, PartialWritesOfKilledRunsAreRemovedButNotOthers) {
  TempDir dir;
  testing::write_text(dir.file("last.pt.tmp.999999"), "partial");
  testing::write_text(dir.file("data.bin.tmp.1"), "someone else's");
  testing::write_text(dir.file("last.pt"), "whole");
  const auto removed = remove_stale_temporaries(dir.path().string());
  EXPECT_EQ(removed, std::vector<std::string>{"last.pt.tmp.999999"});
  EXPECT_TRUE(fs::exists(dir.file("data.bin.tmp.1")));
  EXPECT_TRUE(fs::exists(dir.file("last.pt")));
}

TEST(RunDirTest, CopyFileAtomicAndFingerprints) {
  TempDir dir;
  testing::write_text(dir.file("a"), "abc");
  copy_file_atomic(dir.file("a"), dir.file("b"));
  EXPECT_EQ(read(dir.file("b")), "abc");
  // Rewriting the source (atomically, as checkpoints are) leaves the copy as it was.
  write_file_atomic(dir.file("a"), "abcd");
  EXPECT_EQ(read(dir.file("b")), "abc");
  // FNV-1a 64 of "abc" is e71fa2190541574b (the published test vector).
  EXPECT_EQ(file_fingerprint(dir.file("b")), "3:e71fa2190541574b");
  EXPECT_NE(file_fingerprint(dir.file("a")), file_fingerprint(dir.file("b")));
  EXPECT_THROW(file_fingerprint(dir.file("none")), DataError);
}

TEST(ResumeTest, DamagedOrForeignCheckpointsAreDataErrorsAndChangeNothing) {
  TempDir dir;
  RunOptions run;
  run.run_dir = dir.path().string();
  const std::vector<std::string> small{"data.train.limit=64", "data.val.limit=32",
                                       "data.loader.batch_size=32", "train.epochs=1"};
  run_training(recipe(small), run);
  const std::string good = read(dir.file("last.pt"));
  run.resume = dir.file("c.pt");
  auto attempt = [&](const std::string& bytes, const std::vector<std::string>& extra) {
    testing::write_text(dir.file("c.pt"), bytes);
    std::vector<std::string> o = small;
    o.insert(o.end(), extra.begin(), extra.end());
    return error_message<UsageError>([&] { run_training(recipe(o), run); });
  };
  const std::string truncated = attempt(good.substr(0, good.size() - 100), {});
  EXPECT_EQ(truncated.rfind(dir.file("c.pt"), 0), 0u) << truncated;
  const std::string flipped =
      attempt(std::string(good).replace(good.size() / 2, 8, "XXXXXXXX"), {});
  EXPECT_NE(flipped.find(dir.file("c.pt") + ": record 'data/"), std::string::npos) << flipped;
  EXPECT_NE(flipped.find("fails its CRC-32 check (the file is damaged)"), std::string::npos);
  const std::string other_model = attempt(good, {"model.name=preact_resnet18"});
  EXPECT_NE(other_model.find("does not fit the model"), std::string::npos) << other_model;
  EXPECT_EQ(read(dir.file("last.pt")), good);
}

}  // namespace
}  // namespace augcore::train

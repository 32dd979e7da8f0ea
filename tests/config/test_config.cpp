#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "augcore/config/config.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore {
namespace {

using config::Config;
using testing::TempDir;
using testing::write_text;

std::string config_error(const std::function<void()>& f) {
  return testing::error_message<ConfigError>(f);
}

config::Schema small_schema() {
  config::Schema train;
  train.add_int("epochs", 90, "epochs").range(1, 1000);
  train.add_float("lr", 0.1, "learning rate").range(0, 10);
  train.add_bool("nesterov", false, "nesterov");
  train.add_choice("schedule", "cosine", {"cosine", "step"}, "schedule");
  train.add_floats("betas", {0.9, 0.999}, "betas").items(2, 2).range(0, 1);
  config::Schema s;
  s.add_string("name", "run", "name");
  s.add_section("train", train, "training");
  return s;
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndSuggestion) {
  TempDir dir;
  const auto path = dir.file("recipe.yaml");
  write_text(path, "name: x\ntrain:\n  lr: 0.5\n  epoch: 3\n");
  EXPECT_EQ(config_error([&] { Config::load(path, {}, small_schema()); }),
            path + ":4: unknown key 'train.epoch' (did you mean 'train.epochs'?)");
}

TEST(ConfigTest, UnknownKeyWithoutCloseMatchListsValidKeys) {
  const auto root = config::parse_yaml("train:\n  zzzzzzzz: 1\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(root, small_schema()); }),
            "f.yaml:2: unknown key 'train.zzzzzzzz' (valid keys here: epochs, lr, nesterov, "
            "schedule, betas)");
}

TEST(ConfigTest, WrongTypeNamesKeyValueAndExpectation) {
  const auto root = config::parse_yaml("train:\n  epochs: ten\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(root, small_schema()); }),
            "f.yaml:2: train.epochs: expected an integer in [1, 1000], got 'ten'");
  const auto flag = config::parse_yaml("train:\n  nesterov: maybe\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(flag, small_schema()); }),
            "f.yaml:2: train.nesterov: expected true or false, got 'maybe'");
  const auto map = config::parse_yaml("train: 3\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(map, small_schema()); }),
            "f.yaml:1: train: expected a map of keys, got '3'");
}

TEST(ConfigTest, OutOfRangeAndBadChoiceAreRejected) {
  const auto lr = config::parse_yaml("train:\n  lr: 11\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(lr, small_schema()); }),
            "f.yaml:2: train.lr: expected a number in [0, 10], got '11'");
  const auto sched = config::parse_yaml("train:\n  schedule: cosin\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(sched, small_schema()); }),
            "f.yaml:2: train.schedule: expected one of: cosine, step (did you mean 'cosine'?), "
            "got 'cosin'");
  const auto betas = config::parse_yaml("train:\n  betas: [0.9]\n", "f.yaml");
  EXPECT_NE(config_error([&] {
              Config::from_node(betas, small_schema());
            }).find("train.betas: expected a list of numbers with 2 items"),
            std::string::npos);
}

TEST(ConfigTest, DefaultsAreFilledAndTyped) {
  const Config c =
      Config::from_node(config::parse_yaml("train:\n  lr: 0.25\n", "f"), small_schema());
  const auto train = c.root().section("train");
  EXPECT_EQ(train.integer("epochs"), 90);
  EXPECT_DOUBLE_EQ(train.real("lr"), 0.25);
  EXPECT_FALSE(train.boolean("nesterov"));
  EXPECT_EQ(train.string("schedule"), "cosine");
  EXPECT_EQ(train.reals("betas"), (std::vector<double>{0.9, 0.999}));
  EXPECT_EQ(c.root().string("name"), "run");
}

TEST(ConfigTest, RenamedKeyReadsAsItsNewNameAndRefusesBoth) {
  config::Schema train;
  train.add_float("p", 0.5, "probability").range(0, 1);
  train.rename("probability", "p");
  config::Schema s;
  s.add_section("train", train, "training");
  const Config old_name =
      Config::from_node(config::parse_yaml("train:\n  probability: 0.25\n", "f.yaml"), s);
  EXPECT_DOUBLE_EQ(old_name.root().section("train").real("p"), 0.25);
  EXPECT_EQ(config_error([&] {
              Config::from_node(config::parse_yaml("train:\n  probability: 2\n", "f.yaml"), s);
            }),
            "f.yaml:2: train.p: expected a number in [0, 1], got '2'");
  EXPECT_EQ(config_error([&] {
              Config::from_node(
                  config::parse_yaml("train:\n  p: 0.1\n  probability: 0.25\n", "f.yaml"), s);
            }),
            "f.yaml:3: 'train.probability' is the old name of 'train.p'; give only 'p'");
  EXPECT_THROW(train.rename("q", "missing"), std::logic_error);
}

TEST(ConfigTest, SetOverridesReplaceCreateAndIndex) {
  auto root = config::parse_yaml("train:\n  lr: 0.5\nlist: [1, 2, 3]\n", "f.yaml");
  config::apply_override(root, "train.lr=0.01");
  config::apply_override(root, "train.epochs=7");
  config::apply_override(root, "list.1=20");
  config::apply_override(root, "train.betas=[0.5, 0.6]");
  EXPECT_EQ(root.find("train")->find("lr")->text(), "0.01");
  EXPECT_EQ(root.find("train")->find("epochs")->text(), "7");
  EXPECT_EQ(root.find("list")->items()[1].text(), "20");
  EXPECT_EQ(root.find("train")->find("betas")->items().size(), 2u);
  root.erase("list");
  const Config c = Config::from_node(root, small_schema());
  EXPECT_EQ(c.root().section("train").integer("epochs"), 7);
  EXPECT_EQ(c.root().section("train").reals("betas"), (std::vector<double>{0.5, 0.6}));
}

TEST(ConfigTest, SetOverrideErrorsNameTheOverride) {
  auto root = config::parse_yaml("train:\n  lr: 0.5\n", "f.yaml");
  EXPECT_EQ(config_error([&] { config::apply_override(root, "train.lr"); }),
            "--set train.lr: expected key.path=value");
  config::apply_override(root, "train.epoch=3");
  EXPECT_EQ(config_error([&] { Config::from_node(root, small_schema()); }),
            "--set train.epoch=3: unknown key 'train.epoch' (did you mean 'train.epochs'?)");
  EXPECT_NE(config_error([&] { config::apply_override(root, "a..b=1"); }).find("not a valid key"),
            std::string::npos);
}

TEST(ConfigTest, BaseFilesMergeDeeplyWithChildWinning) {
  TempDir dir;
  write_text(dir.file("common/base.yaml"), "name: base\ntrain:\n  lr: 0.5\n  epochs: 10\n");
  write_text(dir.file("child.yaml"),
             "_base_: common/base.yaml\ntrain:\n  epochs: 20\n  schedule: step\n");
  const Config c = Config::load(dir.file("child.yaml"), {"train.lr=0.2"}, small_schema());
  const auto train = c.root().section("train");
  EXPECT_EQ(c.root().string("name"), "base");
  EXPECT_EQ(train.integer("epochs"), 20);
  EXPECT_DOUBLE_EQ(train.real("lr"), 0.2);
  EXPECT_EQ(train.string("schedule"), "step");
}

TEST(ConfigTest, BaseListAppliesInOrderAndErrorsPointIntoTheBase) {
  TempDir dir;
  write_text(dir.file("a.yaml"), "train:\n  lr: 1\n  epochs: 5\n");
  write_text(dir.file("b.yaml"), "train:\n  lr: 2\n  epohcs: 6\n");
  write_text(dir.file("c.yaml"), "_base_: [a.yaml, b.yaml]\n");
  EXPECT_EQ(config_error([&] { Config::load(dir.file("c.yaml"), {}, small_schema()); }),
            dir.file("b.yaml") + ":3: unknown key 'train.epohcs' (did you mean 'train.epochs'?)");
}

TEST(ConfigTest, BaseCycleAndMissingBaseAreErrors) {
  TempDir dir;
  write_text(dir.file("a.yaml"), "_base_: b.yaml\n");
  write_text(dir.file("b.yaml"), "_base_: a.yaml\n");
  EXPECT_NE(config_error([&] { config::load_file(dir.file("a.yaml")); }).find("cycle"),
            std::string::npos);
  write_text(dir.file("c.yaml"), "_base_: nope.yaml\n");
  EXPECT_NE(config_error([&] { config::load_file(dir.file("c.yaml")); }).find("does not exist"),
            std::string::npos);
}

TEST(ConfigTest, MalformedYamlAndMissingFileAreConfigErrors) {
  TempDir dir;
  write_text(dir.file("bad.yaml"), "a: [1,\n");
  EXPECT_NE(config_error([&] {
              config::load_file(dir.file("bad.yaml"));
            }).find(dir.file("bad.yaml") + ":2: not valid YAML"),
            std::string::npos);
  write_text(dir.file("list.yaml"), "- 1\n- 2\n");
  EXPECT_NE(config_error([&] { config::load_file(dir.file("list.yaml")); }).find("must be a map"),
            std::string::npos);
  EXPECT_NE(config_error([&] {
              config::load_file(dir.file("missing.yaml"));
            }).find("cannot read config file"),
            std::string::npos);
  write_text(dir.file("dup.yaml"), "a: 1\na: 2\n");
  EXPECT_EQ(config_error([&] { config::load_file(dir.file("dup.yaml")); }),
            dir.file("dup.yaml") + ":2: duplicate key 'a'");
}

TEST(ConfigTest, AliasBombsAndDirectoriesAreRefusedAtOnce) {
  TempDir dir;
  // Nine levels of ten aliases each: 10^9 values once expanded ("billion laughs").
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'j'; ++level) {
    const char prev = static_cast<char>(level - 1);
    bomb += std::string(1, level) + ": &" + level + " [";
    for (int i = 0; i < 10; ++i)
      bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  write_text(dir.file("bomb.yaml"), bomb);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = config_error([&] { config::load_file(dir.file("bomb.yaml")); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(message.rfind(dir.file("bomb.yaml") + ":", 0), 0u) << message;
  EXPECT_NE(message.find("expands to more than 100000 values"), std::string::npos) << message;
  // A handful of aliases stays an ordinary config.
  write_text(dir.file("small.yaml"), "a: &a [1, 2]\nb: [*a, *a]\n");
  EXPECT_EQ(config::load_file(dir.file("small.yaml")).find("b")->items().size(), 2u);
  std::filesystem::create_directories(dir.file("recipes.yaml"));
  EXPECT_EQ(
      config_error([&] { config::load_file(dir.file("recipes.yaml")); }),
      "config file '" + dir.file("recipes.yaml") + "' is not a regular file (it is a directory)");
}

TEST(ConfigTest, ComponentsValidateAgainstTheRegistry) {
  const auto schema = train::recipe_schema();
  const auto typo = config::parse_yaml("data:\n  train: {name: idxx}\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(typo, schema); }),
            "f.yaml:2: data.train: unknown dataset 'idxx' (did you mean 'idx'?)");
  const auto option =
      config::parse_yaml("data:\n  train_transforms:\n    - {name: hflip, prob: 0.5}\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(option, schema); }),
            "f.yaml:3: unknown key 'data.train_transforms[0].prob' (valid keys here: p)");
  const auto required = config::parse_yaml(
      "data:\n  train_transforms:\n    - name: random_crop\n      padding: 4\n", "f.yaml");
  EXPECT_NE(config_error([&] {
              Config::from_node(required, schema);
            }).find("missing required key 'data.train_transforms[0].size'"),
            std::string::npos);
}

TEST(ConfigTest, ComponentWithoutNameKeepsTheDefaultComponent) {
  auto root = config::parse_yaml("seed: 1\n", "f.yaml");
  config::apply_override(root, "data.train.split=test");
  const Config c = Config::from_node(root, train::recipe_schema());
  const auto train = c.root().section("data").component("train");
  EXPECT_EQ(train.name, "idx");
  EXPECT_EQ(train.options().string("split"), "test");
  // Without a default, the name is required.
  config::Schema schema;
  schema.add_component("extra", "dataset", "", "a dataset without default");
  auto other = config::parse_yaml("extra: {split: test}\n", "f.yaml");
  EXPECT_EQ(config_error([&] { Config::from_node(other, schema); }),
            "f.yaml:1: extra: a dataset needs a 'name' (one of: cifar, file_list, idx, "
            "image_folder, stl10)");
}

TEST(ConfigTest, ResolvedYamlReloadsToTheSameConfig) {
  const auto schema = train::recipe_schema();
  auto root = config::parse_yaml(
      "seed: 3\ndata:\n  train_transforms:\n    - {name: random_resized_crop, size: 24}\n"
      "    - hflip\n",
      "f.yaml");
  const Config c = Config::from_node(root, schema);
  const Config again = Config::from_node(config::parse_yaml(c.to_yaml(), "resolved"), schema);
  EXPECT_EQ(c.to_yaml(), again.to_yaml());
  const auto transforms = again.root().section("data").components("train_transforms");
  ASSERT_EQ(transforms.size(), 2u);
  EXPECT_EQ(transforms[0].name, "random_resized_crop");
  EXPECT_EQ(transforms[0].options().integers("size"), (std::vector<std::int64_t>{24}));
  EXPECT_EQ(transforms[1].name, "hflip");
  EXPECT_DOUBLE_EQ(transforms[1].options().real("p"), 0.5);
}

TEST(ConfigTest, EditDistanceAndSuggestions) {
  EXPECT_EQ(config::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(config::edit_distance("", "abc"), 3u);
  EXPECT_EQ(config::closest_match("epoch", {"epochs", "lr"}), "epochs");
  EXPECT_EQ(config::closest_match("qqqq", {"epochs", "lr"}), "");
}

TEST(RegistryTest, ListsAndDocumentsBuiltins) {
  const auto& r = config::Registry::global();
  EXPECT_EQ(r.names("dataset"),
            (std::vector<std::string>{"cifar", "file_list", "idx", "image_folder", "stl10"}));
  const auto* rrc = r.find("transform", "random_resized_crop");
  ASSERT_NE(rrc, nullptr);
  const std::string doc = config::describe_component(*rrc);
  EXPECT_NE(doc.find("scale (list of numbers, default [0.08, 1])"), std::string::npos);
  EXPECT_EQ(r.lookup("transform/hflip").size(), 1u);
}

}  // namespace
}  // namespace augcore

#include <gtest/gtest.h>

#include <algorithm>

#include <ATen/ATen.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/blocks.h"
#include "augcore/models/classifier.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/models/vit.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::models {
namespace {

using testing::count_parameters;

c10::IValue entry(const c10::IValue& d, const std::string& key) {
  return d.toGenericDict().at(key);
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

class TorchvisionParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionParity, SameLogitsAsTorchvisionAndLoadsBackIntoIt) {
  const std::string name = GetParam();
  testing::TempDir dir;
  const auto py = testing::run_python("model_parity.py", {"resnet", name, dir.file("ref.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  const c10::IValue ref = pth::load(dir.file("ref.pth"));
  auto model = testing::build_model("{name: " + name + ", pretrained: " + dir.file("ref.pth") + "}",
                                    ModelShape{3, 10, 64});
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor logits = model->forward(entry(ref, "input").toTensor());
  // float32 summation order differs between the two: the bound scales with the logits (the
  // randomly initialised ResNet-50's reach ~135, where 1e-4 absolute was exceeded under load).
  const at::Tensor expected = entry(ref, "logits").toTensor();
  EXPECT_LE(max_diff(logits, expected), 1e-5 * std::max(1.0, expected.abs().max().item<double>()));

  // Our checkpoint, read by torchvision with strict=True, gives our logits.
  auto ckpt = pth::new_dict();
  ckpt.insert("model", state_dict_ivalue(*model));
  ckpt.insert("input", entry(ref, "input").toTensor());
  ckpt.insert("logits", logits);
  ckpt.insert("num_classes", 10);
  pth::save(ckpt, dir.file("ours.pt"));
  const auto back = testing::run_python("model_parity.py", {"check", name, dir.file("ours.pt")});
  EXPECT_EQ(back.exit_code, 0) << back.output;
}

INSTANTIATE_TEST_SUITE_P(Models, TorchvisionParity, ::testing::Values("resnet18", "resnet50"));

TEST(ViTTest, MatchesTimmOrAnIndependentReferenceWithAttentionAndKeptTokens) {
  testing::TempDir dir;
  const auto py = testing::run_python("model_parity.py", {"vit", dir.file("vit.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  // With the modern toolchain the reference is timm's own VisionTransformer, not a transcription.
  EXPECT_TRUE(!AUGCORE_TEST_TIMM || py.output.find("reference: timm ") != std::string::npos)
      << py.output;
  const c10::IValue ref = pth::load(dir.file("vit.pth"));
  auto model = testing::build_model(
      "{name: vit, patch_size: 8, embed_dim: 48, depth: 2, num_heads: 3, "
      "layer_scale: 0.1, pretrained: " +
          dir.file("vit.pth") + "}",
      ModelShape{3, 7, 32});
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor x = entry(ref, "input").toTensor();
  ForwardOptions with_attention;
  with_attention.return_attention = true;
  const ForwardResult full = model->forward_with(x, with_attention);
  EXPECT_LE(max_diff(full.logits, entry(ref, "logits").toTensor()), 1e-5);
  EXPECT_LE(max_diff(full.attention, entry(ref, "attention").toTensor()), 1e-6);
  EXPECT_LE(max_diff(model->forward(x), full.logits), 1e-6);
  ForwardOptions kept;
  kept.keep_tokens = entry(ref, "keep").toTensor();
  EXPECT_LE(max_diff(model->forward_with(x, kept).logits, entry(ref, "kept_logits").toTensor()),
            1e-5);
  // Keeping every token in order is exactly the ordinary forward.
  kept.keep_tokens = at::arange(16).unsqueeze(0).expand({2, 16}).contiguous();
  EXPECT_TRUE(at::equal(model->forward_with(x, kept).logits, model->forward(x)));
}

TEST(ModelsTest, AViTStartsFromWeightsOfAnotherResolutionWithItsGridResized) {
  testing::TempDir dir;
  auto small =
      testing::build_model("{name: vit, patch_size: 4, embed_dim: 8, depth: 1, num_heads: 2}",
                           ModelShape{3, 5, 16});  // 4×4 patches
  {
    at::NoGradGuard no_grad;
    at::Tensor pos = *small->named_parameters().find("pos_embed");
    pos.slice(1, 1).copy_(at::arange(8, at::kFloat).view({1, 1, 8}).expand({1, 16, 8}));
    pos.slice(1, 0, 1).fill_(-3);
  }
  auto payload = pth::new_dict();
  payload.insert("model", state_dict_ivalue(*small));
  pth::save(payload, dir.file("small.pth"));
  auto large = testing::build_model(
      "{name: vit, patch_size: 4, embed_dim: 8, depth: 1, num_heads: 2, "
      "pretrained: " +
          dir.file("small.pth") + "}",
      ModelShape{3, 5, 24});  // 6×6 patches
  const at::Tensor pos = *large->named_parameters().find("pos_embed");
  ASSERT_EQ(pos.sizes(), (at::IntArrayRef{1, 37, 8}));
  EXPECT_TRUE(pos.slice(1, 0, 1).eq(-3).all().item<bool>());  // the CLS position is kept
  // Bicubic resizing keeps a grid that is constant per channel.
  EXPECT_TRUE(at::allclose(
      pos.slice(1, 1), at::arange(8, at::kFloat).view({1, 1, 8}).expand({1, 36, 8}), 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(*large->named_parameters().find("blocks.0.attn.qkv.weight"),
                        *small->named_parameters().find("blocks.0.attn.qkv.weight")));
}

TEST(ModelsTest, ResNetDropPathRampsOverTheBlocksAndDropsWholeResidualsInTraining) {
  auto model = testing::build_model("{name: resnet18, drop_path: 0.07}", ModelShape{3, 10, 32});
  std::vector<double> rates;
  for (const auto& m : model->modules(false))
    if (auto* b = m->as<BasicBlock>()) rates.push_back(b->drop_path);
  ASSERT_EQ(rates.size(), 8u);
  for (std::size_t k = 0; k < 8; ++k)
    EXPECT_DOUBLE_EQ(rates[k], 0.07 * k / 7.0);
  torch::manual_seed(4);
  BasicBlock block(8, 8, 1, false);
  block->drop_path = 0.5;
  block->train();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({200, 8, 4, 4});
  const at::Tensor out = block->forward(x);
  // A dropped residual leaves relu(x); a kept one is scaled by 2.
  const at::Tensor dropped = (out - at::relu(x)).abs().flatten(1).amax(1).eq(0);
  EXPECT_NEAR(dropped.to(at::kFloat).mean().item<double>(), 0.5, 0.15);
  block->eval();
  block->drop_path = 0;
  const at::Tensor plain = block->forward(x);
  block->drop_path = 0.5;
  EXPECT_TRUE(at::equal(block->forward(x), plain));  // evaluation ignores it
}

TEST(ModelsTest, TorchvisionParameterNamesAndCounts) {
  // Parameter counts of torchvision's models (1000 classes), as printed by
  // sum(p.numel() for p in torchvision.models.NAME().parameters()).
  const std::vector<std::pair<std::string, std::int64_t>> expected{{"resnet18", 11689512},
                                                                   {"resnet34", 21797672},
                                                                   {"resnet50", 25557032},
                                                                   {"resnext50_32x4d", 25028904},
                                                                   {"wide_resnet50_2", 68883240}};
  for (const auto& [name, count] : expected) {
    EXPECT_EQ(
        count_parameters(*testing::build_model("{name: " + name + "}", ModelShape{3, 1000, 224})),
        count)
        << name;
  }
  const auto names =
      state_dict(*testing::build_model("{name: resnet50}", ModelShape{3, 1000, 224}));
  EXPECT_EQ(names.front().first, "conv1.weight");
  EXPECT_EQ(names.back().first, "fc.bias");
  bool has_downsample = false;
  for (const auto& [n, t] : names)
    has_downsample |= n == "layer2.0.downsample.1.running_var";
  EXPECT_TRUE(has_downsample);
}

TEST(ModelsTest, ViTPresetsHaveTimmParameterCounts) {
  // timm: vit_tiny/small/base_patch16_224 with 1000 classes (DeiT-Ti/S/B: 5.7M, 22M, 86.6M).
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"vit_tiny_patch16_224", 5717416},
      {"vit_small_patch16_224", 22050664},
      {"vit_base_patch16_224", 86567656}};
  for (const auto& [name, count] : expected) {
    EXPECT_EQ(
        count_parameters(*testing::build_model("{name: " + name + "}", ModelShape{3, 1000, 224})),
        count)
        << name;
  }
}

TEST(ModelsTest, SmallImageBackbonesHaveTheirShapes) {
  // CIFAR ResNet-20 with projection shortcuts, 1 input channel, 10 classes, counted by hand:
  // stem 144 + 32; stage 1: 3 x (2 x 2304 + 64) = 14016; stage 2: 14528 + 2 x 18560 = 51648;
  // stage 3: 57728 + 2 x 73984 = 205696; fc 650. Total 272186 (He et al.: "0.27M").
  auto r20 = testing::build_model("{name: resnet20}", ModelShape{1, 10, 28});
  EXPECT_EQ(count_parameters(*r20), 272186);
  EXPECT_EQ(r20->forward(at::randn({2, 1, 28, 28})).sizes(), (std::vector<std::int64_t>{2, 10}));
  auto wrn = testing::build_model("{name: wide_resnet, depth: 16, width: 2, dropout: 0.3}",
                                  ModelShape{3, 100, 32});
  EXPECT_EQ(wrn->forward(at::randn({2, 3, 32, 32})).sizes(), (std::vector<std::int64_t>{2, 100}));
  auto pre = testing::build_model("{name: preact_resnet18}", ModelShape{3, 10, 32});
  EXPECT_EQ(pre->forward(at::randn({1, 3, 32, 32})).sizes(), (std::vector<std::int64_t>{1, 10}));
  auto vit =
      testing::build_model("{name: vit_mini_patch4_28, drop_path: 0.1}", ModelShape{1, 10, 28});
  EXPECT_EQ(vit->forward(at::randn({2, 1, 28, 28})).sizes(), (std::vector<std::int64_t>{2, 10}));
}

// timm's ViT ramps stochastic depth linearly over the blocks; DeiT-III's models_v2.py keeps
// it constant (dpr = [drop_path_rate for i in range(depth)]).
TEST(ModelsTest, VitDropPathScheduleIsLinearOrConstant) {
  const ModelShape shape{1, 10, 28};
  auto rates = [&](const std::string& yaml) {
    auto model = testing::build_model(yaml, shape);
    std::vector<double> out;
    for (auto& b : dynamic_cast<ViTImpl&>(*model).blocks())
      out.push_back(b->drop_path);
    return out;
  };
  const auto linear = rates("{name: vit_mini_patch4_28, depth: 5, drop_path: 0.2}");
  EXPECT_EQ(linear.size(), 5u);
  for (std::size_t i = 0; i < linear.size(); ++i)
    EXPECT_NEAR(linear[i], 0.2 * static_cast<double>(i) / 4, 1e-12) << "block " << i;
  for (const double r : rates("{name: vit_mini_patch4_28, depth: 5, drop_path: 0.2, "
                              "drop_path_schedule: constant}")) {
    EXPECT_EQ(r, 0.2);
  }
}

// features() is what the head reads: the head's own weights applied to it by hand give the
// model's logits, and its width is the head's input width.
TEST(ModelsTest, FeaturesAreTheHeadsInput) {
  const std::vector<std::pair<std::string, ModelShape>> models{
      {"{name: resnet20}", {1, 10, 28}},
      {"{name: wide_resnet, depth: 10, width: 2}", {3, 7, 16}},
      {"{name: preact_resnet18}", {3, 5, 32}},
      {"{name: resnet18}", {3, 6, 64}},
      {"{name: vit_mini_patch4_28}", {1, 10, 28}}};
  for (const auto& [yaml, shape] : models) {
    auto model = testing::build_model(yaml, shape);
    model->eval();
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({3, shape.in_chans, shape.image_size, shape.image_size});
    const at::Tensor f = model->features(x);
    const auto params = model->named_parameters();
    const at::Tensor w = params[model->head_name() + ".weight"];
    const at::Tensor b = params[model->head_name() + ".bias"];
    ASSERT_EQ(f.sizes(), (std::vector<std::int64_t>{3, w.size(1)})) << yaml;
    EXPECT_LT(max_diff(at::matmul(f, w.t()) + b, model->forward(x)), 1e-5) << yaml;
  }
}

TEST(ModelsTest, PretrainedMismatchesAreReportedLikePyTorch) {
  testing::TempDir dir;
  auto donor = testing::build_model("{name: resnet20}", ModelShape{3, 10, 32});
  auto dict = state_dict_ivalue(*donor);
  ASSERT_EQ(dict.erase("layer1.0.bn1.running_mean"), 1u);
  dict.insert("extra.weight", at::zeros({1}));
  pth::save(dict, dir.file("sd.pth"));
  try {
    testing::build_model("{name: resnet20, pretrained: " + dir.file("sd.pth") + "}",
                         ModelShape{3, 100, 32});
    FAIL() << "loaded a mismatching state_dict";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("Missing key(s) in state_dict: \"layer1.0.bn1.running_mean\""),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("Unexpected key(s) in state_dict: \"extra.weight\""), std::string::npos);
    EXPECT_NE(what.find("size mismatch for fc.weight: copying a param with shape [10, 64] from "
                        "checkpoint, the shape in current model is [100, 64]"),
              std::string::npos);
  }
  // Fine-tuning: the head is skipped, everything else must still match.
  ASSERT_EQ(dict.erase("extra.weight"), 1u);
  dict.insert("layer1.0.bn1.running_mean", at::full({16}, 0.5));
  pth::save(dict, dir.file("sd2.pth"));
  auto tuned = testing::build_model(
      "{name: resnet20, pretrained: " + dir.file("sd2.pth") + ", pretrained_ignore_head: true}",
      ModelShape{3, 100, 32});
  EXPECT_EQ(tuned->num_classes(), 100);
  int checked = 0;
  for (const auto& [n, t] : state_dict(*tuned)) {
    if (n == "layer1.0.bn1.running_mean") {
      EXPECT_TRUE(at::equal(t, at::full({16}, 0.5)));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 1);
}

}  // namespace
}  // namespace augcore::models

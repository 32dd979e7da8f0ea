#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/pth.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/models/swin.h"
#include "augcore/train/state/optimizer.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::models {
namespace {

using testing::build_model;
using testing::count_parameters;

TEST(SwinTest, MatchesTimmsSwinOrAnIndependentOneOnWeightsLoadedStrictly) {
  testing::TempDir dir;
  const auto py = testing::run_python("model_parity.py", {"swin", dir.file("swin.pth")});
  // With the modern toolchain the reference is timm's own SwinTransformer, and the independent
  // RefSwin (Debian's reference) must agree with it.
  EXPECT_TRUE(!AUGCORE_TEST_TIMM || py.output.find("reference: timm ") != std::string::npos)
      << py.output;
  if (AUGCORE_TEST_TIMM) {
    const auto agree = testing::run_python("model_parity.py", {"swin-agree"});
    EXPECT_EQ(agree.exit_code, 0) << agree.output;
  }
  ASSERT_EQ(py.exit_code, 0) << py.output;
  const c10::IValue ref = pth::load(dir.file("swin.pth"));
  // 32 px, 2-px patches: a 16×16 grid with 4×4 windows (shifted by 2), then 8×8 (shifted),
  // then 4×4 where the window covers the grid and stops shifting.
  auto model = build_model(
      "{name: swin, patch_size: 2, embed_dim: 16, depths: [2, 2, 2], num_heads: [2, 2, 4], "
      "window_size: 4, pretrained: " +
          dir.file("swin.pth") + "}",
      ModelShape{3, 7, 32});
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor expected = ref.toGenericDict().at("logits").toTensor();
  const at::Tensor logits = model->forward(ref.toGenericDict().at("input").toTensor());
  EXPECT_LE((logits - expected).abs().max().item<double>(),
            1e-5 * std::max(1.0, expected.abs().max().item<double>()));
}

TEST(SwinTest, PresetsHaveTimmsParameterCountsAndStateDictKeys) {
  // sum(p.numel()) and len(state_dict()) of timm.create_model(NAME) (timm 1.0.31).
  const std::vector<std::tuple<std::string, std::int64_t, std::size_t>> expected{
      {"swin_tiny_patch4_window7_224", 28288354, 173},
      {"swin_small_patch4_window7_224", 49606258, 329},
      {"swin_base_patch4_window7_224", 87768224, 329}};
  for (const auto& [name, params, keys] : expected) {
    auto model = build_model("{name: " + name + "}", ModelShape{3, 1000, 224});
    EXPECT_EQ(count_parameters(*model), params) << name;
    EXPECT_EQ(state_dict(*model).size(), keys) << name;
  }
}

TEST(SwinTest, LayerIdsFollowSimMimAndEveryParameterIsGrouped) {
  auto model = build_model("{name: swin_tiny_patch4_window7_224}", ModelShape{3, 10, 224});
  EXPECT_EQ(model->num_layer_ids(), 14);
  const std::vector<std::pair<std::string, std::int64_t>> ids{
      {"patch_embed.proj.weight", 0},
      {"layers.0.blocks.0.attn.qkv.weight", 1},
      {"layers.0.blocks.1.norm1.bias", 2},
      {"layers.1.downsample.reduction.weight", 2},
      {"layers.1.blocks.0.mlp.fc1.weight", 3},
      {"layers.2.downsample.norm.weight", 4},
      {"layers.2.blocks.5.attn.relative_position_bias_table", 10},
      {"layers.3.downsample.reduction.weight", 10},
      {"layers.3.blocks.1.mlp.fc2.bias", 12},
      {"norm.weight", 13},
      {"head.fc.weight", 13}};
  for (const auto& [name, id] : ids)
    EXPECT_EQ(model->layer_id(name), id) << name;
  const auto groups = train::param_groups(*model, true, 0.9);
  std::size_t grouped = 0;
  for (const auto& g : groups) {
    grouped += g.params.size();
    for (const auto& name : g.names) {
      EXPECT_DOUBLE_EQ(g.lr_scale, std::pow(0.9, 13 - model->layer_id(name))) << name;
      // timm's Swin: no decay on 1-D tensors and on the relative position bias tables.
      const bool table = name.find("relative_position_bias_table") != std::string::npos;
      EXPECT_EQ(g.decay, !table && name.find("weight") != std::string::npos &&
                             name.find("norm") == std::string::npos)
          << name;
    }
  }
  EXPECT_EQ(grouped, model->parameters().size());
}

TEST(SwinTest, MaskedUnitsSeeOnlyTheMaskToken) {
  torch::manual_seed(0);
  // 64 px, 4-px patches, 32-px units: a 2×2 grid of units, each 8×8 patch tokens.
  auto model = build_model(
      "{name: swin, patch_size: 4, embed_dim: 16, depths: [2, 2], num_heads: [2, 2], "
      "window_size: 4, mask_token: true}",
      ModelShape{3, 5, 64});
  auto* swin = dynamic_cast<SwinImpl*>(model.get());
  ASSERT_NE(swin, nullptr);
  EXPECT_EQ(swin->mask_grid(), std::make_pair(std::int64_t{2}, std::int64_t{2}));
  model->eval();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({1, 3, 64, 64});
  ForwardOptions masked;
  masked.masked_units = at::tensor({0.f, 1.f, 0.f, 0.f}).view({1, 2, 2});  // top-right unit
  const at::Tensor base = model->forward_with(x, masked).logits;
  at::Tensor inside = x.clone();
  inside.narrow(2, 0, 32).narrow(3, 32, 32).normal_();
  at::Tensor outside = x.clone();
  outside.narrow(2, 32, 32).narrow(3, 0, 32).normal_();
  EXPECT_TRUE(at::equal(model->forward_with(inside, masked).logits, base));
  EXPECT_GT((model->forward_with(outside, masked).logits - base).abs().max().item<double>(), 1e-4);
  ForwardOptions none;
  none.masked_units = at::zeros({1, 2, 2});
  EXPECT_TRUE(at::allclose(model->forward_with(x, none).logits, model->forward(x)));
  // Without the token (timm weights) masking is refused.
  auto plain = build_model(
      "{name: swin, patch_size: 4, embed_dim: 16, depths: [2], num_heads: [2], "
      "window_size: 4}",
      ModelShape{3, 5, 64});
  EXPECT_THROW(plain->forward_with(x, masked), std::invalid_argument);
}

}  // namespace
}  // namespace augcore::models

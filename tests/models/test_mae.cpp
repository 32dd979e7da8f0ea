#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/mae.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::models {
namespace {

at::Tensor get(const c10::IValue& d, const std::string& key) {
  return d.toGenericDict().at(key).toTensor();
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

MaeConfig small_config() {
  MaeConfig c;
  c.img_size = 16;
  c.patch_size = 4;
  c.embed_dim = 32;
  c.depth = 2;
  c.num_heads = 4;
  c.decoder_embed_dim = 24;
  c.decoder_depth = 1;
  c.decoder_num_heads = 3;
  return c;
}

TEST(MaeTest, MatchesAnIndependentReference) {
  testing::TempDir dir;
  const auto py = testing::run_python("mae_reference.py", {dir.file("mae.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  const c10::IValue ref = pth::load(dir.file("mae.pth"));
  MaskedAutoencoder mae(small_config());
  const auto report = load_state_dict(*mae, find_state_dict(ref, "mae.pth"), /*strict=*/true);
  ASSERT_TRUE(report.ok()) << report.describe();
  mae->eval();
  at::NoGradGuard no_grad;
  // The fixed tables are recomputed, not only loaded: compare ours with the reference's.
  EXPECT_LE(max_diff(sincos_pos_embed_2d(16, 7, 7).squeeze(0), get(ref, "sincos_7")), 1e-6);
  const at::Tensor images = get(ref, "images");
  EXPECT_TRUE(at::equal(mae->patchify(images), get(ref, "patches")));
  EXPECT_TRUE(at::allclose(mae->unpatchify(mae->patchify(images), 16, 16), images));
  auto [encoded, masking] =
      mae->forward_encoder(images, get(ref, "noise"), pretrain_keep_count(16, 0.4));
  const at::Tensor pred = mae->forward_decoder(encoded, masking.ids_restore, 16, 16);
  EXPECT_TRUE(at::equal(masking.mask, get(ref, "mask")));
  EXPECT_LE(max_diff(pred, get(ref, "pred")), 1e-5);
  EXPECT_NEAR(mae->loss(images, pred, masking.mask).item<double>(), get(ref, "loss").item<double>(),
              1e-6);
  EXPECT_LE(max_diff(mae->cls_attention(images), get(ref, "cls_attention")), 1e-6);
  const auto maps = mae->attention_maps(images);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_LE(max_diff(at::stack(maps), get(ref, "attention_maps")), 1e-6);
  EXPECT_LE(max_diff(mae->patch_attention(images), get(ref, "patch_attention")), 1e-6);
}

TEST(MaeTest, NoiseMaskingKeepsTheLowestNoisePatches) {
  // L = 5, ratio 0.4 → MAE keeps int(5 · 0.6) = 3: the three smallest noise values.
  EXPECT_EQ(pretrain_keep_count(5, 0.4), 3);
  EXPECT_EQ(pretrain_keep_count(16, 0.4), 9);  // int(9.6)
  EXPECT_EQ(pretrain_keep_count(196, 0.75), 49);
  const at::Tensor tokens = at::arange(10, at::kFloat).reshape({1, 5, 2});
  const at::Tensor noise = at::tensor({0.9f, 0.1f, 0.5f, 0.3f, 0.7f}).unsqueeze(0);
  const MaskedTokens m = mask_by_noise(tokens, noise, 3);
  const at::Tensor keep = m.ids_keep.squeeze(0).contiguous();
  EXPECT_EQ(
      std::vector<std::int64_t>(keep.data_ptr<std::int64_t>(), keep.data_ptr<std::int64_t>() + 3),
      std::vector<std::int64_t>({1, 3, 2}));
  EXPECT_TRUE(at::equal(m.mask, at::tensor({1.f, 0.f, 0.f, 0.f, 1.f}).unsqueeze(0)));
  EXPECT_TRUE(at::equal(m.kept[0][0], at::tensor({2.f, 3.f})));
}

TEST(MaeTest, MaeMiniHasAboutFifteenAndAHalfMillionParameters) {
  MaskedAutoencoder mae(mae_preset("mae_mini"));
  std::int64_t trainable = 0;
  for (const auto& p : mae->parameters()) {
    if (p.requires_grad()) trainable += p.numel();
  }
  // Counted by hand: encoder 11,454,720 (patch embed 369,120, 4 blocks of 2,771,040, CLS,
  // norm), decoder 4,030,464 (embed, mask token, 2 blocks of 1,774,464, norm, pred).
  EXPECT_EQ(trainable, 15485184);
  EXPECT_EQ(state_dict(*mae).front().first, "cls_token");
}

std::shared_ptr<ClassifierImpl> build_vit(const std::string& yaml) {
  return testing::build_model(yaml, ModelShape{3, 10, 16});
}

TEST(MaeFineTuneTest, TheEncoderLandsUnchangedTheDecoderIsDroppedTheHeadStartsAsMaeDoes) {
  torch::manual_seed(3);
  MaskedAutoencoder mae(small_config());
  {
    torch::NoGradGuard no_grad;  // every tensor distinct from a fresh ViT's initialisation
    for (auto& p : mae->parameters())
      p.add_(at::randn_like(p));
  }
  testing::TempDir dir;
  auto payload = pth::new_dict();
  payload.insert("model", state_dict_ivalue(*mae));
  pth::save(payload, dir.file("mae.pth"));
  const std::string vit_yaml =
      "{name: vit, patch_size: 4, embed_dim: 32, depth: 2, num_heads: 4, "
      "pretrained_from: mae, pretrained: " +
      dir.file("mae.pth");
  for (const bool avg : {true, false}) {
    auto vit = build_vit(vit_yaml + (avg ? ", global_pool: avg}" : "}"));
    const auto ours = mae->named_parameters();
    std::size_t loaded = 0;
    for (const auto& p : vit->named_parameters()) {
      const std::string& name = p.key();
      if (name.rfind("head.", 0) == 0 || name.rfind("fc_norm.", 0) == 0) continue;
      ASSERT_NE(ours.find(name), nullptr) << name;
      EXPECT_TRUE(at::equal(p.value(), *ours.find(name))) << name;
      ++loaded;
    }
    // patch_embed (2) + cls_token + pos_embed + 2 blocks × 12, and the CLS ViT's norm (2).
    EXPECT_EQ(loaded, 4u + 24u + (avg ? 0u : 2u));
    const auto params = vit->named_parameters();
    const at::Tensor head = *params.find("head.weight");
    EXPECT_LE(head.abs().max().item<double>(), 4e-5);  // trunc_normal(std = 2e-5)
    EXPECT_GT(head.std().item<double>(), 1e-5);
    EXPECT_TRUE(params.find("head.bias")->eq(0).all().item<bool>());
    if (avg) {  // MAE's fc_norm starts as a fresh LayerNorm; the encoder's norm is not used
      EXPECT_TRUE(params.find("fc_norm.weight")->eq(1).all().item<bool>());
      EXPECT_TRUE(params.find("fc_norm.bias")->eq(0).all().item<bool>());
    }
  }
  // Another width does not fit: the error names the file.
  const std::string wide =
      "{name: vit, patch_size: 4, embed_dim: 64, depth: 2, num_heads: 4, "
      "pretrained_from: mae, pretrained: " +
      dir.file("mae.pth") + "}";
  EXPECT_NE(testing::error_message<DataError>([&] { build_vit(wide); }).find("mae.pth"),
            std::string::npos);
  EXPECT_NE(testing::error_message<ConfigError>([&] {
              build_vit("{name: resnet18, pretrained_from: mae, pretrained: " +
                        dir.file("mae.pth") + "}");
            }).find("model.pretrained"),
            std::string::npos);
}

}  // namespace
}  // namespace augcore::models

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "augcore/core/pth.h"
#include "augcore/models/mae.h"
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

}  // namespace
}  // namespace augcore::models

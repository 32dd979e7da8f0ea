#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <set>

#include "augcore/augment/mra.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/state_dict.h"
#include "support/fixtures.h"

namespace augcore::augment {
namespace {

class MraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(3);
    models::MaeConfig c = models::mae_preset("mae_tiny_patch4_28");
    c.in_chans = 1;
    mae_ = models::MaskedAutoencoder(c);
    mae_->eval();
    auto ckpt = pth::new_dict();
    ckpt.insert("model", models::state_dict_ivalue(*mae_));
    pth::save(ckpt, dir_.file("mae.pt"));
    images_ = at::rand({3, 1, 28, 28});
  }

  std::unique_ptr<BatchPolicy> policy(const std::string& options, std::int64_t side = 28) {
    config::Schema schema;
    schema.add_component_list("policies", "policy", "policies");
    configs_.push_back(config::Config::from_node(
        config::parse_yaml("policies: [{name: mra, preset: mae_tiny_patch4_28, in_chans: 1, "
                           "mean: [0.5], std: [0.5], checkpoint: " +
                               dir_.file("mae.pt") + options + "}]\n",
                           "t"),
        schema));
    PolicySetup setup;
    setup.channels = 1;
    setup.height = setup.width = side;
    return std::move(make_policies(configs_.back().root().components("policies"), setup).front());
  }

  // Indices of the 4×4 patches (7×7 grid) where `out` equals the input exactly.
  std::set<std::int64_t> unchanged(const at::Tensor& out, std::int64_t image) const {
    std::set<std::int64_t> s;
    for (std::int64_t j = 0; j < 49; ++j) {
      const auto r = (j / 7) * 4, c = (j % 7) * 4;
      const auto a = out[image][0].slice(0, r, r + 4).slice(1, c, c + 4);
      const auto b = images_[image][0].slice(0, r, r + 4).slice(1, c, c + 4);
      if (at::equal(a, b)) s.insert(j);
    }
    return s;
  }

  std::set<std::int64_t> ranked(std::int64_t image, bool highest, bool cls = true) {
    at::NoGradGuard g;
    const at::Tensor x = (images_ - 0.5) / 0.5;
    const at::Tensor att = (cls ? mae_->cls_attention(x) : mae_->patch_attention(x))[image];
    const at::Tensor idx = std::get<1>(att.topk(30, 0, highest));
    std::set<std::int64_t> s;
    for (std::int64_t i = 0; i < 30; ++i)
      s.insert(idx[i].item<std::int64_t>());
    return s;
  }

  PolicyBatch batch() const { return {images_.clone(), at::zeros({3}, at::kLong), 10}; }

  testing::TempDir dir_;
  models::MaskedAutoencoder mae_{nullptr};
  at::Tensor images_;
  std::vector<config::Config> configs_;
};

TEST_F(MraTest, LowModeKeepsExactlyTheHighestAttentionPatches) {
  // 49 patches, ratio 0.4: k = 49 - floor(19.6) = 30 patches kept as original pixels.
  EXPECT_EQ(augment_keep_count(49, 0.4), 30);
  auto p = policy("");
  PolicyBatch b = batch();
  StepContext ctx{step_generator(0, 0, 0)};
  p->apply(b, ctx);
  for (std::int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(unchanged(b.images, i), ranked(i, true)) << i;
  EXPECT_GE(b.images.min().item<float>(), 0.0f);
  EXPECT_LE(b.images.max().item<float>(), 1.0f);
}

TEST_F(MraTest, PatchesReadingKeepsThePatchesMostAttendedByPatches) {
  auto p = policy(", attention: patches");
  PolicyBatch b = batch();
  StepContext ctx{step_generator(0, 0, 0)};
  p->apply(b, ctx);
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(unchanged(b.images, i), ranked(i, true, false)) << i;
    EXPECT_NE(ranked(i, true, false), ranked(i, true)) << "the two readings should differ";
  }
}

TEST_F(MraTest, HighModeKeepsTheLowestAttentionPatches) {
  auto p = policy(", mode: high");
  PolicyBatch b = batch();
  StepContext ctx{step_generator(0, 0, 0)};
  p->apply(b, ctx);
  for (std::int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(unchanged(b.images, i), ranked(i, false)) << i;
}

TEST_F(MraTest, RandomModeKeepsThirtyPatchesAndFollowsTheGenerator) {
  auto p = policy(", mode: random");
  PolicyBatch a = batch(), b = batch();
  StepContext ca{step_generator(5, 1, 2)}, cb{step_generator(5, 1, 2)};
  p->apply(a, ca);
  p->apply(b, cb);
  EXPECT_TRUE(at::equal(a.images, b.images));  // same step, same draws
  for (std::int64_t i = 0; i < 3; ++i)
    EXPECT_EQ(unchanged(a.images, i).size(), 30u);
}

TEST_F(MraTest, ProbabilityZeroLeavesTheBatchAndNoPasteChangesEverything) {
  auto none = policy(", p: 0");
  PolicyBatch b = batch();
  StepContext ctx{step_generator(0, 0, 0)};
  none->apply(b, ctx);
  EXPECT_TRUE(at::equal(b.images, images_));
  auto whole = policy(", paste_visible: false");
  PolicyBatch w = batch();
  whole->apply(w, ctx);
  EXPECT_LE(unchanged(w.images, 0).size(), 1u);
}

TEST_F(MraTest, LowAndHighAreComplementsAtHalfMasking) {
  // 32×32 images with 4-px patches: 64 patches, ratio 0.5 keeps 32 in either mode.
  images_ = at::rand({2, 1, 32, 32});
  PolicyBatch low = {images_.clone(), at::zeros({2}, at::kLong), 10};
  PolicyBatch high = low;
  high.images = images_.clone();
  StepContext ctx{step_generator(0, 0, 0)};
  policy(", mask_ratio: 0.5", 32)->apply(low, ctx);
  policy(", mask_ratio: 0.5, mode: high", 32)->apply(high, ctx);
  for (std::int64_t i = 0; i < 2; ++i) {
    std::set<std::int64_t> lo, hi;
    for (std::int64_t j = 0; j < 64; ++j) {
      const auto r = (j / 8) * 4, c = (j % 8) * 4;
      const auto orig = images_[i][0].slice(0, r, r + 4).slice(1, c, c + 4);
      if (at::equal(low.images[i][0].slice(0, r, r + 4).slice(1, c, c + 4), orig)) lo.insert(j);
      if (at::equal(high.images[i][0].slice(0, r, r + 4).slice(1, c, c + 4), orig)) hi.insert(j);
    }
    EXPECT_EQ(lo.size(), 32u);
    EXPECT_EQ(hi.size(), 32u);
    std::set<std::int64_t> both(lo.begin(), lo.end());
    both.insert(hi.begin(), hi.end());
    EXPECT_EQ(both.size(), 64u);
  }
}

TEST_F(MraTest, ProbabilityIsHonouredAndNoGradientReachesTheAugmentor) {
  images_ = at::rand({400, 1, 28, 28});
  auto p = policy(", p: 0.3");
  PolicyBatch b = batch();
  b.targets = at::zeros({400}, at::kLong);
  StepContext ctx{step_generator(1, 0, 0)};
  p->apply(b, ctx);
  const double changed =
      (b.images - images_).abs().flatten(1).amax(1).gt(0).sum().item<double>() / 400.0;
  EXPECT_NEAR(changed, 0.3, 0.07);
  EXPECT_FALSE(b.images.requires_grad());
  auto& mra = dynamic_cast<LibraryPolicy<MraAugmentor>&>(*p).policy();
  const at::Tensor x = at::rand({2, 1, 28, 28}).requires_grad_();
  EXPECT_FALSE(mra->augment(x, at::rand({2, 49})).requires_grad());
}

TEST(MaskLayoutTest, PatchIndicesMapToPixelsOnNonSquareGrids) {
  // An 8×12 image with 4-px patches is a 2×3 grid: patch j covers rows 4·(j / 3) and
  // columns 4·(j % 3).
  models::MaeConfig c = models::mae_preset("mae_tiny_patch4_28");
  c.in_chans = 1;
  models::MaskedAutoencoder mae(c);
  at::Tensor patches = at::zeros({1, 6, 16});
  patches[0][5].fill_(1.0);  // the last patch: row 1, column 2
  const at::Tensor img = mae->unpatchify(patches, 8, 12);
  EXPECT_EQ(img.sum().item<float>(), 16.0f);
  EXPECT_EQ(img[0][0].slice(0, 4, 8).slice(1, 8, 12).sum().item<float>(), 16.0f);
  EXPECT_TRUE(at::equal(mae->patchify(img), patches));
  // The encoder runs on the non-square grid with position tables built for it.
  at::NoGradGuard g;
  auto [encoded, m] = mae->forward_encoder(at::rand({1, 1, 8, 12}), at::rand({1, 6}), 4);
  EXPECT_EQ(encoded.sizes(), (std::vector<std::int64_t>{1, 5, 64}));
  EXPECT_EQ(mae->forward_decoder(encoded, m.ids_restore, 8, 12).sizes(),
            (std::vector<std::int64_t>{1, 6, 16}));
}

TEST(MaskLayoutTest, IdsRestoreInvertsTheShuffleAndRemovesFloorLr) {
  const at::Tensor noise = at::tensor({0.9f, 0.1f, 0.5f, 0.3f, 0.7f}).unsqueeze(0);
  const auto m = models::mask_by_noise(at::zeros({1, 5, 2}), noise, 3);
  // argsort(noise) = [1, 3, 2, 4, 0]; its inverse is [4, 0, 2, 1, 3].
  EXPECT_TRUE(
      at::equal(m.ids_restore, at::tensor(std::vector<std::int64_t>{4, 0, 2, 1, 3}).unsqueeze(0)));
  for (std::int64_t l : {49, 64, 196}) {
    for (double r : {0.1, 0.4, 0.75}) {
      const auto keep = augment_keep_count(l, r);
      const auto masked = models::mask_by_noise(at::zeros({1, l, 1}), at::rand({1, l}), keep).mask;
      EXPECT_EQ(masked.sum().item<float>(), std::floor(l * r)) << l << " " << r;
    }
  }
}

TEST_F(MraTest, PatchSizeMustDivideTheImage) {
  EXPECT_THROW(policy("", 30), ConfigError);
}

}  // namespace
}  // namespace augcore::augment

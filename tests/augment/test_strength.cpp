// The strength meter against hand-computed cases: a Cutout box of known size on a known image
// (one clipped at the border), a known patch mask, and MRA with paste_visible, whose kept
// patches must come out unchanged.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "augcore/augment/cutout.h"
#include "augcore/augment/mra.h"
#include "augcore/augment/regions.h"
#include "augcore/augment/strength.h"
#include "augcore/core/error.h"
#include "augcore/models/mae.h"

namespace augcore::augment {
namespace {

// 2×1×8×8: a 4×4 block of 0.5 at rows/cols 2..5 on a zero background, twice.
at::Tensor block_images() {
  at::Tensor x = at::zeros({2, 1, 8, 8});
  x.slice(2, 2, 6).slice(3, 2, 6).fill_(0.5);
  return x;
}

Boxes boxes(std::vector<std::int64_t> y0, std::vector<std::int64_t> y1,
            std::vector<std::int64_t> x0, std::vector<std::int64_t> x1) {
  return {at::tensor(y0), at::tensor(y1), at::tensor(x0), at::tensor(x1)};
}

TEST(StrengthTest, CutoutOfKnownSizeOnAKnownImage) {
  const at::Tensor x = block_images();
  const Cutout cutout(CutoutOptions(4).fill({0.3}));
  // Image 0: the box rows/cols [0, 4) covers 12 background pixels (0 → 0.3) and 4 object
  // pixels (0.5 → 0.3); image 1 is left alone.
  const at::Tensor y = cutout.apply(x, boxes({0, 0}, {4, 0}, {0, 0}, {4, 0}));
  StrengthMeter meter(StrengthOptions().fill({0.3}));
  meter.add(x, y);
  const Strength s = meter.result();
  EXPECT_EQ(s.images, 2);
  EXPECT_DOUBLE_EQ(s.images_changed, 0.5);
  EXPECT_DOUBLE_EQ(s.pixels_changed, 16.0 / 128);
  EXPECT_NEAR(s.mean_abs_delta, (12 * 0.3 + 4 * 0.2) / 128, 1e-7);
  EXPECT_DOUBLE_EQ(s.object_altered, 4.0 / 32);
  EXPECT_NEAR(s.ink_removed, 4 * 0.2 / (32 * 0.5), 1e-7);
  EXPECT_DOUBLE_EQ(s.filled_per_image, 16.0 / 2);
  EXPECT_EQ(s.masked_patch_object, -1);
}

TEST(StrengthTest, ABoxCentredOnTheCornerFillsOnlyItsInImageQuarter) {
  const at::Tensor x = block_images().slice(0, 0, 1);
  const Cutout cutout(CutoutOptions(4).fill({0.3}));
  const Boxes b = boxes_at(at::tensor({std::int64_t{0}}), at::tensor({std::int64_t{0}}),
                           at::tensor({std::int64_t{4}}), at::tensor({std::int64_t{4}}),
                           Placement::kCentered, 8, 8);
  StrengthMeter meter(StrengthOptions().fill({0.3}));
  meter.add(x, cutout.apply(x, b));
  // A 4×4 box centred at (0, 0) keeps rows/cols [0, 2): 4 pixels, all background.
  EXPECT_DOUBLE_EQ(meter.result().filled_per_image, 4);
  EXPECT_DOUBLE_EQ(meter.result().object_altered, 0);
  // Below the threshold nothing counts: a change of 0.05 everywhere.
  StrengthMeter faint;
  faint.add(x, x + 0.05);
  EXPECT_EQ(faint.result().pixels_changed, 0);
  EXPECT_NEAR(faint.result().mean_abs_delta, 0.05, 1e-7);
}

TEST(StrengthTest, KnownPatchMask) {
  // One 8×8 image with 2×2 patches of 4 px: the whole top-left patch is object (16 px) and
  // 4 px of the bottom-right one.
  at::Tensor x = at::zeros({1, 1, 8, 8});
  x.slice(2, 0, 4).slice(3, 0, 4).fill_(1);
  x.slice(2, 6, 8).slice(3, 6, 8).fill_(1);
  StrengthMeter meter;
  meter.add_mask(x, at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).reshape({1, 4}), 4);
  EXPECT_DOUBLE_EQ(meter.result().masked_patch_object, 20.0 / 32);
  EXPECT_DOUBLE_EQ(meter.result().kept_patch_object, 0);
  EXPECT_DOUBLE_EQ(meter.result().object_masked, 1);
  StrengthMeter other;
  other.add_mask(x, at::tensor({0.0f, 1.0f, 1.0f, 0.0f}).reshape({1, 4}), 4);
  EXPECT_DOUBLE_EQ(other.result().masked_patch_object, 0);
  EXPECT_DOUBLE_EQ(other.result().kept_patch_object, 20.0 / 32);
  EXPECT_DOUBLE_EQ(other.result().object_masked, 0);
  EXPECT_THROW(other.add_mask(x, at::zeros({1, 3}), 4), OptionError);
}

TEST(StrengthTest, MraWithPasteVisibleChangesOnlyMaskedPatches) {
  at::manual_seed(5);
  models::MaeConfig c = models::mae_preset("mae_tiny_patch4_28");
  c.in_chans = 1;
  models::MaskedAutoencoder mae(c);
  mae->eval();
  MraAugmentor mra(mae, MraOptions().mask_ratio(0.5).mean({0.5}).std({0.5}));
  at::Tensor x = at::zeros({4, 1, 28, 28});
  x.slice(2, 6, 22).slice(3, 8, 20).copy_(at::rand({4, 1, 16, 12}).mul(0.9).add(0.1));
  const at::Tensor noise = at::rand({4, 49});
  const at::Tensor mask = mra->attention_and_mask(x, noise).second;
  StrengthMeter meter;
  meter.add(x, mra->augment(x, noise));
  meter.add_mask(x, mask, 4);
  const Strength s = meter.result();
  // Half the patches are masked; every changed pixel lies in one of them, so the object's
  // altered share cannot exceed the share of it that was masked.
  EXPECT_NEAR(mask.sum().item<double>(), 4 * (49 - augment_keep_count(49, 0.5)), 0);
  EXPECT_GT(s.pixels_changed, 0);
  EXPECT_LE(s.object_altered, s.object_masked + 1e-12);
  const at::Tensor kept =
      at::upsample_nearest2d(mask.reshape({4, 1, 7, 7}), {28, 28}).lt(0.5).expand_as(x);
  StrengthMeter kept_only;
  kept_only.add(x.masked_select(kept).reshape({1, 1, 1, -1}),
                mra->augment(x, noise).masked_select(kept).reshape({1, 1, 1, -1}));
  EXPECT_EQ(kept_only.result().mean_abs_delta, 0);
}

}  // namespace
}  // namespace augcore::augment

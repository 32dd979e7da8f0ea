#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "augcore/config/yaml_io.h"
#include "augcore/data/transforms.h"
#include "augcore/train/tasks/recipe.h"

namespace augcore::data {
namespace {

Image ramp(int h, int w, int c) {
  Image img(h, w, c);
  for (std::size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<std::uint8_t>(i);
  return img;
}

TransformPipeline pipeline(const std::string& yaml) {
  static config::Schema schema = train::recipe_schema();
  static std::vector<config::Config> keep;  // the pipeline's options point into the config
  keep.push_back(config::Config::from_node(
      config::parse_yaml("data:\n  train_transforms: " + yaml + "\n", "t"), schema));
  return TransformPipeline::from_config(
      keep.back().root().section("data").components("train_transforms"));
}

TEST(TransformTest, RandomResizedCropBoxesStayInsideAndFollowTheDistribution) {
  // With scale ≤ 0.5 and ratio in [3/4, 4/3] on a square, no draw is rejected, so the area
  // fraction is U(0.1, 0.5) and the log aspect U(log 3/4, log 4/3), up to pixel rounding.
  Rng rng(7);
  const int side = 1000, draws = 20000;
  double area_sum = 0, log_aspect_sum = 0;
  int below_02 = 0, wide = 0;
  for (int i = 0; i < draws; ++i) {
    const CropBox b = random_resized_crop_box(side, side, {0.1, 0.5}, {3.0 / 4, 4.0 / 3}, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, side);
    ASSERT_LE(b.left + b.width, side);
    const double area = double(b.height) * b.width / (double(side) * side);
    const double aspect = double(b.width) / b.height;
    ASSERT_GE(area, 0.1 - 0.003);
    ASSERT_LE(area, 0.5 + 0.003);
    ASSERT_GE(aspect, 0.75 - 0.01);
    ASSERT_LE(aspect, 4.0 / 3 + 0.01);
    area_sum += area;
    log_aspect_sum += std::log(aspect);
    below_02 += area < 0.2;
    wide += aspect > 1;
  }
  EXPECT_NEAR(area_sum / draws, 0.3, 0.005);
  EXPECT_NEAR(double(below_02) / draws, 0.25, 0.015);
  EXPECT_NEAR(log_aspect_sum / draws, 0.0, 0.005);
  EXPECT_NEAR(double(wide) / draws, 0.5, 0.015);
}

TEST(TransformTest, RandomResizedCropBoxesInsideSmallAndOddImages) {
  Rng rng(3);
  for (int h : {1, 2, 7, 28, 33}) {
    for (int w : {1, 3, 28, 50}) {
      for (int i = 0; i < 200; ++i) {
        const CropBox b = random_resized_crop_box(h, w, {0.08, 1.0}, {3.0 / 4, 4.0 / 3}, rng);
        ASSERT_GT(b.height, 0);
        ASSERT_GT(b.width, 0);
        ASSERT_GE(b.top, 0);
        ASSERT_GE(b.left, 0);
        ASSERT_LE(b.top + b.height, h) << h << "x" << w;
        ASSERT_LE(b.left + b.width, w) << h << "x" << w;
      }
    }
  }
}

TEST(TransformTest, RandomResizedCropFallbackIsTorchvisionsCentreCrop) {
  // 10×100 with scale ≥ 0.99 and ratio 1: every try needs a ~31-pixel square, taller than the
  // image, so torchvision falls back to h = 10, w = round(10·1) = 10, centred: left 45.
  Rng rng(1);
  const CropBox b = random_resized_crop_box(10, 100, {0.99, 1.0}, {1.0, 1.0}, rng);
  EXPECT_EQ(b.top, 0);
  EXPECT_EQ(b.left, 45);
  EXPECT_EQ(b.height, 10);
  EXPECT_EQ(b.width, 10);
}

TEST(TransformTest, CenterCropRoundsHalfToEvenLikeTorchvision) {
  // torchvision: top = int(round((H - h) / 2)); Python rounds 1.5 → 2 and 2.5 → 2.
  EXPECT_EQ(center_crop_box(5, 5, 2, 2).top, 2);
  EXPECT_EQ(center_crop_box(7, 7, 2, 2).top, 2);
  EXPECT_EQ(center_crop_box(256, 256, 224, 224).left, 16);
}

TEST(TransformTest, HorizontalFlipIsExact) {
  Image img(2, 3, 2);
  img.pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  EXPECT_EQ(hflip(img).pixels, (std::vector<std::uint8_t>{5, 6, 3, 4, 1, 2, 11, 12, 9, 10, 7, 8}));
  EXPECT_EQ(hflip(hflip(img)).pixels, img.pixels);
}

TEST(TransformTest, FlipProbabilityIsRespected) {
  const auto p0 = pipeline("[{name: hflip, p: 0}]");
  const auto p1 = pipeline("[{name: hflip, p: 1}]");
  const Image img = ramp(3, 4, 1);
  Rng rng(0);
  EXPECT_EQ(p0.apply(img, rng).pixels, img.pixels);
  EXPECT_EQ(p1.apply(img, rng).pixels, hflip(img).pixels);
  const auto half = pipeline("[hflip]");
  int flipped = 0;
  for (int i = 0; i < 4000; ++i)
    flipped += half.apply(img, rng).pixels != img.pixels;
  EXPECT_NEAR(flipped / 4000.0, 0.5, 0.03);
}

TEST(TransformTest, PaddedRandomCropIsAWindowOfThePaddedImage) {
  const auto t = pipeline("[{name: random_crop, size: 6, padding: 2, fill: 255}]");
  const Image img = ramp(6, 6, 1);
  const Image padded = pad(img, 2, 255);
  ASSERT_EQ(padded.height, 10);
  EXPECT_EQ(padded.at(0, 0, 0), 255);
  EXPECT_EQ(padded.at(2, 2, 0), img.at(0, 0, 0));
  std::set<std::pair<int, int>> seen;
  Rng rng(11);
  for (int i = 0; i < 2000; ++i) {
    const Image out = t.apply(img, rng);
    ASSERT_EQ(out.height, 6);
    ASSERT_EQ(out.width, 6);
    int matches = 0;
    for (int dy = 0; dy <= 4; ++dy) {
      for (int dx = 0; dx <= 4; ++dx) {
        if (crop(padded, {dy, dx, 6, 6}).pixels == out.pixels) {
          seen.insert({dy, dx});
          ++matches;
        }
      }
    }
    ASSERT_EQ(matches, 1);
  }
  EXPECT_EQ(seen.size(), 25u);  // every offset in [0, 4]² occurs
}

TEST(TransformTest, ResizeAndCenterCropShapes) {
  const auto t = pipeline("[{name: resize, size: 8}, {name: center_crop, size: [8, 6]}]");
  Rng rng(0);
  const Image out = t.apply(ramp(20, 40, 3), rng);
  EXPECT_EQ(out.height, 8);
  EXPECT_EQ(out.width, 6);
  EXPECT_EQ(out.channels, 3);
  // A crop larger than the image pads with zeros around it, centred.
  const auto big = pipeline("[{name: center_crop, size: 4}]");
  Image one(2, 2, 1);
  one.pixels = {1, 2, 3, 4};
  EXPECT_EQ(big.apply(one, rng).pixels,
            (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}));
}

TEST(TransformTest, RandomResizedCropOutputsTheRequestedSize) {
  const auto t = pipeline("[{name: random_resized_crop, size: [12, 10], interpolation: bicubic}]");
  Rng rng(5);
  for (int i = 0; i < 50; ++i) {
    const Image out = t.apply(ramp(37, 23, 3), rng);
    ASSERT_EQ(out.height, 12);
    ASSERT_EQ(out.width, 10);
  }
}

TEST(RngTest, KnownSequenceAndUnbiasedRange) {
  // xoshiro256** with its state filled by splitmix64 from 0 (values from an independent
  // Python transcription of the reference C code).
  Rng a(0);
  EXPECT_EQ(a.next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(a.next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(a.next(), 0x1a5f849d4933e6e0ULL);
  Rng c(42);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i)
    counts[c.randint(0, 3)]++;
  for (int n : counts)
    EXPECT_NEAR(n / 30000.0, 1.0 / 3, 0.01);
  Rng d(1);
  for (int i = 0; i < 1000; ++i) {
    const double u = d.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace augcore::data

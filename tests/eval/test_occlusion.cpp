#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "augcore/eval/long_tail.h"
#include "augcore/eval/occlusion.h"

namespace augcore::eval {
namespace {

at::Tensor ramp(std::int64_t c, std::int64_t h, std::int64_t w) {
  return at::arange(2 * c * h * w, at::kFloat).add_(1).reshape({2, c, h, w}) / (2.0 * c * h * w);
}

// Brute force: pixel (y, x) keeps its value exactly when top <= y < top + s and
// left <= x < left + s with top = (H - s) / 2, left = (W - s) / 2 (rounded down).
TEST(OcclusionTest, KeepsExactlyTheCentredSquare) {
  for (const auto& [h, w, s] : std::vector<std::array<std::int64_t, 3>>{
           {8, 8, 4}, {8, 8, 3}, {7, 9, 2}, {5, 5, 5}, {6, 6, 1}}) {
    const at::Tensor x = ramp(3, h, w);
    const at::Tensor out = occlude_outside_centre(x, s, {0.25, 0.5, 0.75});
    const auto top = (h - s) / 2, left = (w - s) / 2;
    const auto a = out.accessor<float, 4>();
    const auto b = x.accessor<float, 4>();
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t y = 0; y < h; ++y)
          for (std::int64_t xx = 0; xx < w; ++xx) {
            const bool inside = y >= top && y < top + s && xx >= left && xx < left + s;
            EXPECT_FLOAT_EQ(a[n][c][y][xx], inside ? b[n][c][y][xx] : 0.25f * (c + 1))
                << h << "x" << w << " s=" << s << " at " << y << "," << xx;
          }
  }
}

TEST(OcclusionTest, FullHoleIsTheImageAndEmptyHoleIsConstant) {
  const at::Tensor x = ramp(1, 6, 6);
  EXPECT_TRUE(at::equal(occlude_outside_centre(x, 6, {0.0}), x));
  EXPECT_TRUE(at::equal(occlude_outside_centre(x, 9, {0.0}), x));
  const at::Tensor blank = occlude_outside_centre(x, 0, {0.0});
  EXPECT_EQ(blank.abs().max().item<float>(), 0.0f);
  const at::Tensor bf = occlude_outside_centre(x.to(at::kBFloat16), 2, {0.5});
  EXPECT_EQ(bf.scalar_type(), at::kBFloat16);
  EXPECT_THROW(occlude_outside_centre(x, -1, {0.0}), std::invalid_argument);
  EXPECT_THROW(occlude_outside_centre(x, 2, {0.0, 1.0}), std::invalid_argument);
}

TEST(OcclusionTest, HoleSizesSpanZeroToTheImage) {
  EXPECT_EQ(hole_sizes(28, 4), (std::vector<std::int64_t>{0, 7, 14, 21, 28}));
  EXPECT_EQ(hole_sizes(3, 6), (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(hole_origin(7, 9, 2), (std::pair<std::int64_t, std::int64_t>{2, 3}));
}

// Training counts 500 / 101 (many), 100 / 20 (medium), 19 / 3 (few): each group's figure is
// the mean of its classes' accuracies, worked out by hand.
TEST(ShotAccuracyTest, GroupsByTrainingCountsAndAveragesPerClass) {
  const auto r =
      shot_accuracy({500, 101, 100, 20, 19, 3}, {10, 40, 10, 10, 10, 0}, {5, 40, 1, 2, 7, 0});
  EXPECT_DOUBLE_EQ(r.many.accuracy, (50.0 + 100.0) / 2);
  EXPECT_EQ(r.many.classes, 2);
  EXPECT_DOUBLE_EQ(r.medium.accuracy, (10.0 + 20.0) / 2);
  EXPECT_EQ(r.medium.classes, 2);
  EXPECT_DOUBLE_EQ(r.few.accuracy, 70.0);  // the class without test images is left out
  EXPECT_EQ(r.few.classes, 1);
  const auto none = shot_accuracy({5}, {3}, {1});
  EXPECT_TRUE(std::isnan(none.many.accuracy));
  EXPECT_EQ(none.many.classes, 0);
  EXPECT_THROW(shot_accuracy({5, 6}, {3}, {1}), std::invalid_argument);
}

}  // namespace
}  // namespace augcore::eval

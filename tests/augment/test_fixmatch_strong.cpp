// FixMatch's strong view as TorchSSL/USB define it: 3 ops from their 14, each applied, each at a
// magnitude uniform over its range; and Cutout with a side uniform in [0, 0.5 × side).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/cutout.h"

namespace augcore::augment {
namespace {

TEST(FixMatchStrongTest, ThreeOpsFromUsbsSetAlwaysAppliedWithUniformMagnitudes) {
  const FixMatchRandAugment policy;
  at::Generator gen = at::detail::createCPUGenerator(11);
  const at::Tensor images = at::rand({4000, 1, 28, 28});
  const OpDraw draw = policy.sample(images, gen);
  ASSERT_EQ(draw.size(), 3u);
  // USB's ranges (semilearn/datasets/augmentation/randaugment.py, augment_list).
  const std::map<Op, std::pair<double, double>> range{
      {Op::kBrightness, {0.05, 0.95}},   {Op::kColor, {0.05, 0.95}},
      {Op::kContrast, {0.05, 0.95}},     {Op::kSharpness, {0.05, 0.95}},
      {Op::kPosterize, {4, 8}},          {Op::kRotate, {-30, 30}},
      {Op::kShearX, {-0.3, 0.3}},        {Op::kShearY, {-0.3, 0.3}},
      {Op::kSolarize, {0, 256 / 255.0}}, {Op::kTranslateX, {-8.4, 8.4}},
      {Op::kTranslateY, {-8.4, 8.4}}};
  const std::set<Op> unscaled{Op::kIdentity, Op::kAutoContrast, Op::kEqualize};
  std::map<Op, int> count;
  std::map<Op, std::vector<double>> values;
  for (const auto& layer : draw) {
    for (std::int64_t i = 0; i < layer.ops.size(0); ++i) {
      const auto op = static_cast<Op>(layer.ops[i].item<std::int64_t>());
      const double m = layer.magnitudes[i].item<double>();
      ++count[op];
      if (unscaled.count(op)) continue;
      ASSERT_TRUE(range.count(op)) << "op " << static_cast<int>(op) << " is not in USB's set";
      EXPECT_GE(m, range.at(op).first);
      EXPECT_LE(m, range.at(op).second);
      values[op].push_back(m);
    }
  }
  EXPECT_EQ(count.size(), 14u);  // every op of the 14 drawn, nothing else
  for (const auto& [op, n] : count)
    EXPECT_NEAR(n, 12000.0 / 14, 120) << "op " << static_cast<int>(op);
  // Uniform: the mean is the range's centre, both halves used.
  for (const auto& [op, v] : values) {
    if (op == Op::kPosterize) continue;  // truncated to whole bits: 4..7
    double mean = 0;
    for (const double x : v)
      mean += x / static_cast<double>(v.size());
    const auto [lo, hi] = range.at(op);
    EXPECT_NEAR(mean, (lo + hi) / 2, 0.05 * (hi - lo)) << "op " << static_cast<int>(op);
  }
  // Replay: apply(sample) with the same generator seed is the call operator.
  at::Generator a = at::detail::createCPUGenerator(5), b = at::detail::createCPUGenerator(5);
  const at::Tensor few = images.slice(0, 0, 16);
  EXPECT_TRUE(policy.apply(few, policy.sample(few, a)).equal(policy(few, b)));
}

TEST(FixMatchStrongTest, CutoutSideIsUniformBelowHalfTheImage) {
  const Cutout cutout(CutoutOptions(1).max_fraction(0.5).fill({0.3}));
  at::Generator gen = at::detail::createCPUGenerator(3);
  // The sides, read back from the boxes of a 200-px image that no border clipped.
  const at::Tensor images = at::zeros({6000, 1, 200, 200});
  const Boxes boxes = cutout.sample(images, gen);
  const at::Tensor y0 = boxes.y0, y1 = boxes.y1;
  std::map<std::int64_t, int> sides;
  for (std::int64_t i = 0; i < y0.size(0); ++i) {
    const auto top = y0[i].item<std::int64_t>(), bottom = y1[i].item<std::int64_t>();
    if (top > 0 && bottom < 200) ++sides[bottom - top];
  }
  ASSERT_FALSE(sides.empty());
  EXPECT_GE(sides.begin()->first, 0);
  EXPECT_LE(sides.rbegin()->first, 99);  // trunc(u · 100), u < 1
  // Sides 0..99 equally likely; a box of side s lies wholly inside for about 200 − s of the 200
  // centre rows, so among those counted the sides below 50 make Σ_{s<50}(200 − s) /
  // Σ_{s<100}(200 − s) = 8775 / 15050 ≈ 0.583 (a fixed side or a wider range would not).
  int small = 0, large = 0;
  for (const auto& [side, n] : sides)
    (side < 50 ? small : large) += n;
  EXPECT_NEAR(static_cast<double>(small) / (small + large), 8775.0 / 15050, 0.03);
  EXPECT_THROW(Cutout(CutoutOptions(1).max_fraction(1.5)).sample(images.slice(0, 0, 1), gen),
               std::exception);
}

}  // namespace
}  // namespace augcore::augment

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "augcore/augment/mix.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/augment/random_erasing.h"
#include "augcore/config/yaml_io.h"

namespace augcore::augment {
namespace {

// Builds the recipe's `policies` list for images of `channels`×`side`×`side`.
class PolicyFixture : public ::testing::Test {
 protected:
  std::unique_ptr<BatchPolicy> policy(const std::string& yaml, std::int64_t channels = 1,
                                      std::int64_t side = 16, double smoothing = 0.0) {
    config::Schema schema;
    schema.add_component_list("policies", "policy", "policies");
    configs_.push_back(
        config::Config::from_node(config::parse_yaml("policies: [" + yaml + "]\n", "t"), schema));
    PolicySetup setup;
    setup.channels = channels;
    setup.height = setup.width = side;
    setup.num_classes = 5;
    setup.mean = {0.25};
    setup.std = {0.5};
    setup.label_smoothing = smoothing;
    return std::move(make_policies(configs_.back().root().components("policies"), setup).front());
  }
  std::vector<config::Config> configs_;
};

// Each image constant at its own level: what lands where is readable from the values.
PolicyBatch constant_batch(std::int64_t n, std::int64_t side) {
  const at::Tensor levels = (at::arange(n, at::kFloat) + 1) / (n + 1);
  return {levels.view({n, 1, 1, 1}).expand({n, 1, side, side}).contiguous(),
          at::arange(n, at::kLong).remainder(5), 5};
}

at::Tensor smoothed(const at::Tensor& labels, double smoothing) {
  return soft_targets(labels, 5, smoothing);
}

using CutoutTest = PolicyFixture;

TEST_F(CutoutTest, ErasesOneClippedSquareWithTheMean) {
  auto cutout = policy("{name: cutout, length: 6}");
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    PolicyBatch b = constant_batch(4, 16);
    const at::Tensor before = b.images.clone();
    StepContext ctx{step_generator(seed, 0, 0)};
    cutout->apply(b, ctx);
    for (std::int64_t n = 0; n < 4; ++n) {
      const at::Tensor erased = b.images[n][0].ne(before[n][0]);
      EXPECT_TRUE(at::all(b.images[n][0].masked_select(erased).eq(0.25)).item<bool>());
      // The erased pixels form a rectangle of at most 6×6 (clipped at the border).
      const at::Tensor rows = erased.any(1).nonzero(), cols = erased.any(0).nonzero();
      ASSERT_GT(rows.size(0), 0);
      const auto h = rows.size(0), w = cols.size(0);
      EXPECT_LE(h, 6);
      EXPECT_LE(w, 6);
      EXPECT_EQ(erased.sum().item<std::int64_t>(), h * w);
      EXPECT_EQ(rows.max().item<std::int64_t>() - rows.min().item<std::int64_t>() + 1, h);
    }
  }
  PolicyBatch b = constant_batch(4, 16);
  const at::Tensor before = b.images.clone();
  StepContext ctx{step_generator(1, 0, 0)};
  policy("{name: cutout, length: 6, p: 0}")->apply(b, ctx);
  EXPECT_TRUE(at::equal(b.images, before));
}

using RandomErasingTest = PolicyFixture;

TEST_F(RandomErasingTest, BoxSizesFollowTimmsAreaAndAspectRanges) {
  at::Generator gen = step_generator(3, 0, 0);
  const at::Tensor counts = at::full({4000}, 1, at::kLong);
  const at::Tensor sizes = erasing_sizes(32, 32, {0.02, 1.0 / 3.0}, {0.3, 1 / 0.3}, counts, gen);
  const at::Tensor h = sizes.select(1, 0).to(at::kDouble), w = sizes.select(1, 1).to(at::kDouble);
  const at::Tensor fitted = h.gt(0);
  EXPECT_GT(fitted.to(at::kDouble).mean().item<double>(), 0.99);
  EXPECT_TRUE(at::all(h.lt(32).logical_and(w.lt(32))).item<bool>());
  // Rounding moves h and w by at most 1/2 each: area and aspect stay near their ranges.
  const at::Tensor area = (h * w).masked_select(fitted) / 1024.0;
  EXPECT_GE(area.min().item<double>(), 0.02 * 0.5);
  EXPECT_LE(area.max().item<double>(), 1.0 / 3.0 * 1.3);
  const at::Tensor aspect = (h / w).masked_select(fitted);
  EXPECT_GE(aspect.min().item<double>(), 0.3 * 0.7);
  EXPECT_LE(aspect.max().item<double>(), 1 / 0.3 / 0.7);
  // log-uniform aspect: as many tall boxes as wide ones.
  EXPECT_NEAR(aspect.gt(1).to(at::kDouble).mean().item<double>(), 0.5, 0.05);
}

TEST_F(RandomErasingTest, ErasesInsideTheImageWithTheRequestedProbability) {
  // `probability` is the option's name before it became `p`; recipes that use it still work.
  auto erasing = policy("{name: random_erasing, probability: 0.5}", 1, 32);
  std::int64_t erased_images = 0, total = 0;
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    PolicyBatch b = constant_batch(8, 32);
    const at::Tensor before = b.images.clone();
    StepContext ctx{step_generator(seed, 0, 0)};
    erasing->apply(b, ctx);
    const at::Tensor changed = b.images.ne(before);
    EXPECT_TRUE(at::all(b.images.masked_select(changed).eq(0.25)).item<bool>());
    erased_images += changed.flatten(1).any(1).sum().item<std::int64_t>();
    total += 8;
  }
  EXPECT_NEAR(static_cast<double>(erased_images) / total, 0.5, 0.1);
}

using MixTest = PolicyFixture;

TEST_F(MixTest, MixupTargetsFollowTheImageLambdaExactly) {
  auto mixup = policy("{name: mixup, alpha: 0.4}", 1, 8, 0.1);
  PolicyBatch b = constant_batch(6, 8);
  const at::Tensor levels = b.images.select(1, 0).select(1, 0).select(1, 0).clone();
  const at::Tensor labels = b.targets.clone();
  StepContext ctx{step_generator(9, 0, 0)};
  mixup->apply(b, ctx);
  const at::Tensor out = b.images.select(1, 0).select(1, 0).select(1, 0);
  // out = lam·c + (1-lam)·c_mirror → lam; targets = lam·y + (1-lam)·y_mirror (smoothed).
  const at::Tensor lam = (out - levels.flip(0)) / (levels - levels.flip(0));
  const at::Tensor y = smoothed(labels, 0.1);
  const at::Tensor expect = lam.view({-1, 1}) * y + (1 - lam.view({-1, 1})) * y.flip(0);
  EXPECT_TRUE(at::allclose(b.targets, expect, 1e-5, 1e-6));
  EXPECT_NEAR((lam - lam[0]).abs().max().item<double>(), 0.0, 1e-5);  // batch mode: one lambda
  EXPECT_TRUE(at::allclose(b.targets.sum(1), at::ones({6})));
}

TEST_F(MixTest, CutMixLambdaIsThePastedAreaFraction) {
  for (const std::string mode : {"batch", "elem"}) {
    auto cutmix = policy("{name: cutmix, alpha: 1.0, mode: " + mode + "}", 1, 10);
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      PolicyBatch b = constant_batch(6, 10);
      const at::Tensor levels = b.images.select(1, 0).select(1, 0).select(1, 0).clone();
      const at::Tensor labels = b.targets.clone();
      StepContext ctx{step_generator(seed, 0, 0)};
      cutmix->apply(b, ctx);
      const at::Tensor from_mirror =
          b.images.select(1, 0).eq(levels.flip(0).view({-1, 1, 1})).flatten(1).sum(1);
      const at::Tensor lam = 1 - from_mirror.to(at::kFloat) / 100.0;
      const at::Tensor y = smoothed(labels, 0.0);
      const at::Tensor expect = lam.view({-1, 1}) * y + (1 - lam.view({-1, 1})) * y.flip(0);
      EXPECT_TRUE(at::allclose(b.targets, expect, 1e-6, 1e-7)) << mode << " " << seed;
      // Every pixel comes from the image itself or its mirror.
      const at::Tensor own = b.images.select(1, 0).eq(levels.view({-1, 1, 1}));
      const at::Tensor mirror = b.images.select(1, 0).eq(levels.flip(0).view({-1, 1, 1}));
      EXPECT_TRUE(at::all(own.logical_or(mirror)).item<bool>());
    }
  }
}

TEST_F(MixTest, CutMixBoxSidesAreTimms) {
  // int(side · sqrt(1 - lam)).
  const at::Tensor sides = cutmix_box_sides(at::tensor({0.0, 0.75, 0.64, 1.0}, at::kDouble), 32);
  EXPECT_TRUE(at::equal(sides, at::tensor({32, 16, 19, 0}, at::kLong)));
}

TEST_F(MixTest, MixSwitchesBetweenMixupAndCutMixPerBatch) {
  auto mix = policy("{name: mix, switch_prob: 0.5}", 1, 8);
  int cutmix_batches = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    PolicyBatch b = constant_batch(4, 8);
    const at::Tensor levels = b.images.select(1, 0).select(1, 0).select(1, 0).clone();
    StepContext ctx{step_generator(seed, 0, 0)};
    mix->apply(b, ctx);
    const at::Tensor own = b.images.select(1, 0).eq(levels.view({-1, 1, 1}));
    const at::Tensor mirror = b.images.select(1, 0).eq(levels.flip(0).view({-1, 1, 1}));
    if (at::all(own.logical_or(mirror)).item<bool>()) ++cutmix_batches;
    EXPECT_EQ(b.targets.dim(), 2);
  }
  EXPECT_GT(cutmix_batches, 8);
  EXPECT_LT(cutmix_batches, 32);
}

}  // namespace
}  // namespace augcore::augment

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>

#include "augcore/augment/keep.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/augment/saliency.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/models/small_resnets.h"
#include "support/fixtures.h"

namespace augcore::augment {
namespace {

// "full", "low_res" or "early_head" saliency of `model` through the library API, with the
// normalisation given as 1×C×1×1 tensors of one value per channel.
at::Tensor saliency_of(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& labels,
                       const at::Tensor& mean, const at::Tensor& std, const std::string& method) {
  PolicySetup setup;
  setup.mean = {mean.flatten()[0].item<double>()};
  setup.std = {std.flatten()[0].item<double>()};
  setup.model = &model;
  return classifier_saliency(method, setup, "t")(x, labels);
}

// Brute force: the sum of s[y0:y1, x0:x1] for the box a position defines, clipped as stated.
double brute_score(const at::Tensor& s, std::int64_t r, std::int64_t c, std::int64_t bh,
                   std::int64_t bw, Placement placement) {
  const auto h = s.size(0), w = s.size(1);
  std::int64_t y0 = r, y1 = r + bh, x0 = c, x1 = c + bw;
  if (placement == Placement::kCentered) {
    y0 = std::clamp<std::int64_t>(r - bh / 2, 0, h);
    y1 = std::clamp<std::int64_t>(r + bh / 2, 0, h);
    x0 = std::clamp<std::int64_t>(c - bw / 2, 0, w);
    x1 = std::clamp<std::int64_t>(c + bw / 2, 0, w);
  }
  double sum = 0;
  for (auto y = y0; y < y1; ++y)
    for (auto x = x0; x < x1; ++x)
      sum += s[y][x].item<double>();
  return sum;
}

TEST(KeepTest, BoxScoresEqualABruteForceSumEverywhereBordersIncluded) {
  at::manual_seed(0);
  const at::Tensor s = at::rand({3, 9, 11});
  const at::Tensor hs = at::tensor({4, 5, 12}, at::kLong), ws = at::tensor({6, 3, 2}, at::kLong);
  for (Placement placement : {Placement::kCentered, Placement::kInside}) {
    const at::Tensor inside_hs =
        placement == Placement::kInside ? at::tensor({4, 5, 9}, at::kLong) : hs;
    const at::Tensor scores = box_scores(s, inside_hs, ws, placement);
    const at::Tensor valid = valid_positions(inside_hs, ws, placement, 9, 11);
    for (std::int64_t n = 0; n < 3; ++n) {
      for (std::int64_t r = 0; r < 9; ++r) {
        for (std::int64_t c = 0; c < 11; ++c) {
          if (!valid[n][r][c].item<bool>()) continue;
          EXPECT_NEAR(scores[n][r][c].item<double>(),
                      brute_score(s[n], r, c, inside_hs[n].item<std::int64_t>(),
                                  ws[n].item<std::int64_t>(), placement),
                      1e-9)
              << n << " " << r << " " << c;
        }
      }
    }
  }
  // Inside placement: positions where the box would leave the image are invalid.
  const at::Tensor valid = valid_positions(at::tensor({4}, at::kLong), at::tensor({6}, at::kLong),
                                           Placement::kInside, 9, 11);
  EXPECT_EQ(valid.sum().item<std::int64_t>(), (9 - 4 + 1) * (11 - 6 + 1));
}

TEST(KeepTest, ThresholdIsTheLinearQuantileOfASortedBruteForce) {
  at::manual_seed(1);
  const at::Tensor scores = at::rand({4, 5, 6}, at::kDouble);
  at::Tensor valid = at::rand({4, 5, 6}).gt(0.3);
  for (double q : {0.0, 0.25, 0.6, 1.0}) {
    const at::Tensor tau = score_threshold(scores, valid, q);
    for (std::int64_t n = 0; n < 4; ++n) {
      std::vector<double> v;
      for (std::int64_t i = 0; i < 30; ++i) {
        if (valid[n].flatten()[i].item<bool>()) v.push_back(scores[n].flatten()[i].item<double>());
      }
      std::sort(v.begin(), v.end());
      const double pos = q * static_cast<double>(v.size() - 1);
      const auto lo = static_cast<std::size_t>(std::floor(pos));
      const auto hi = std::min(lo + 1, v.size() - 1);
      const double expect = v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
      EXPECT_NEAR(tau[n].item<double>(), expect, 1e-12) << q << " " << n;
    }
  }
}

TEST(KeepTest, CutsLandBelowTauAndPastesAboveOverManySeeds) {
  std::int64_t hits_cut = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    at::manual_seed(seed);
    const at::Tensor s = at::rand({2, 12, 10}).pow(3);
    const at::Tensor sizes = at::tensor({5, 3}, at::kLong);
    const Placement placement = seed % 2 ? Placement::kInside : Placement::kCentered;
    const at::Tensor scores = box_scores(s, sizes, sizes, placement);
    const at::Tensor valid = valid_positions(sizes, sizes, placement, 12, 10);
    const at::Tensor tau = score_threshold(scores, valid, 0.6);
    at::Generator gen = step_generator(seed, 0, 0);
    const at::Tensor cut = choose_positions(scores, valid, tau, false, gen);
    const at::Tensor paste = choose_positions(scores, valid, tau, true, gen);
    for (std::int64_t n = 0; n < 2; ++n) {
      const auto cr = cut[n][0].item<std::int64_t>(), cc = cut[n][1].item<std::int64_t>();
      const auto pr = paste[n][0].item<std::int64_t>(), pc = paste[n][1].item<std::int64_t>();
      ASSERT_TRUE(valid[n][cr][cc].item<bool>());
      ASSERT_TRUE(valid[n][pr][pc].item<bool>());
      EXPECT_LT(scores[n][cr][cc].item<double>(), tau[n].item<double>()) << seed;
      EXPECT_GT(scores[n][pr][pc].item<double>(), tau[n].item<double>()) << seed;
      hits_cut += cr * 10 + cc;
    }
  }
  EXPECT_GT(hits_cut, 0);  // positions vary, not always the first allowed one
}

TEST(KeepTest, DrawsAreUniformOverTheAllowedPositions) {
  // Scores 0..5 in a 1×6 strip: cut positions are those below the 0.6-quantile (3.0): 0, 1, 2.
  const at::Tensor scores =
      at::arange(6, at::kDouble).view({1, 1, 6}).expand({3000, 1, 6}).contiguous();
  const at::Tensor valid = at::ones({3000, 1, 6}, at::kBool);
  const at::Tensor tau = score_threshold(scores, valid, 0.6);
  EXPECT_DOUBLE_EQ(tau[0].item<double>(), 3.0);
  at::Generator gen = step_generator(5, 0, 0);
  const at::Tensor cols = choose_positions(scores, valid, tau, false, gen).select(1, 1);
  const at::Tensor counts = at::bincount(cols, {}, 6);
  EXPECT_EQ(counts.narrow(0, 3, 3).sum().item<std::int64_t>(), 0);
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(counts[c].item<double>(), 1000.0, 100.0) << c;
}

TEST(KeepTest, MeanScoresDoNotFavourBoxesClippedAtTheBorder) {
  // A uniform saliency map: every pixel equally important. Summed scores make boxes clipped at
  // the border look unimportant, so every cut lands there and cuts fewer pixels; mean scores
  // are equal everywhere, so cuts land anywhere.
  const at::Tensor saliency = at::ones({2000, 10, 10});
  const at::Tensor sizes = at::full({2000}, 6, at::kLong);
  const SaliencyFn unused = [](const at::Tensor&, const at::Tensor&) { return at::Tensor(); };
  auto area = [&](const at::Tensor& pos) {
    const Boxes b =
        boxes_at(pos.select(1, 0), pos.select(1, 1), sizes, sizes, Placement::kCentered, 10, 10);
    return b.area().to(at::kDouble).mean().item<double>();
  };
  at::Generator gen = step_generator(3, 0, 0);
  const at::Tensor by_sum =
      Keep(unused, KeepOptions(), "KeepCutout")
          .positions(saliency, sizes, sizes, Placement::kCentered, false, gen);
  const at::Tensor by_mean =
      Keep(unused, KeepOptions().mean_score(true), "KeepCutout")
          .positions(saliency, sizes, sizes, Placement::kCentered, false, gen);
  // Uniform centres over 10 rows: the clipped side is min(r+3,10) - max(r-3,0), mean 5.1 per
  // axis (3 4 5 6 6 6 6 6 5 4), so 26.01 px in the image on average; by summed scores only the
  // clipped boxes below the 0.6-quantile qualify (at most 25 px each).
  EXPECT_NEAR(area(by_mean), 5.1 * 5.1, 0.8);
  EXPECT_LE(area(by_sum), 25.0);
}

TEST(SaliencyTest, EqualsTheAnalyticGradientOfALinearModel) {
  at::manual_seed(2);
  const at::Tensor w = at::randn({4, 2 * 5 * 6});
  testing::LinearClassifier model(w);
  const at::Tensor x = at::rand({3, 2, 5, 6});
  const at::Tensor labels = at::tensor({2, 0, 3}, at::kLong);
  const at::Tensor mean = at::full({1, 2, 1, 1}, 0.5), std = at::full({1, 2, 1, 1}, 0.25);
  const at::Tensor map = saliency_of(model, x, labels, mean, std, "full");
  for (std::int64_t n = 0; n < 3; ++n) {
    const at::Tensor expect = w[labels[n].item<std::int64_t>()].view({2, 5, 6}).abs().amax(0);
    EXPECT_TRUE(at::allclose(map[n], expect, 1e-6, 1e-7)) << n;
  }
  // Without labels: the predicted class.
  const at::Tensor predicted = model.forward((x - mean) / std).argmax(1);
  const at::Tensor unlabeled = saliency_of(model, x, {}, mean, std, "full");
  EXPECT_TRUE(at::allclose(unlabeled[1],
                           w[predicted[1].item<std::int64_t>()].view({2, 5, 6}).abs().amax(0)));
}

TEST(SaliencyTest, MatchesPerImageAutogradAndLeavesTrainingStateUntouched) {
  at::manual_seed(3);
  auto model = std::make_shared<models::CifarResNetImpl>(8, 1, 10);
  model->add_early_head();
  model->train();
  const at::Tensor x = at::rand({4, 1, 16, 16});
  const at::Tensor labels = at::tensor({1, 5, 9, 0}, at::kLong);
  const at::Tensor mean = at::full({1, 1, 1, 1}, 0.3), std = at::full({1, 1, 1, 1}, 0.4);
  // Give the parameters gradients and the BN layers non-trivial statistics first.
  model->forward((x - mean) / std).sum().backward();
  std::vector<at::Tensor> grads, buffers;
  for (const auto& p : model->parameters())
    grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
  for (const auto& b : model->buffers())
    buffers.push_back(b.clone());

  const at::Tensor map = saliency_of(*model, x, labels, mean, std, "full");
  for (auto method : {"low_res", "early_head"}) {
    const at::Tensor m = saliency_of(*model, x, labels, mean, std, method);
    EXPECT_EQ(m.sizes(), (at::IntArrayRef{4, 16, 16}));
    EXPECT_GE(m.min().item<double>(), 0.0);
    EXPECT_GT(m.max().item<double>(), 0.0);
  }
  EXPECT_TRUE(model->is_training());
  const auto params = model->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    // The early head had no gradient (the forward above skipped it) and still has none.
    ASSERT_EQ(params[i].grad().defined(), grads[i].defined()) << i;
    if (grads[i].defined()) {
      EXPECT_TRUE(at::equal(params[i].grad(), grads[i])) << i;
    }
  }
  const auto bufs = model->buffers();
  for (std::size_t i = 0; i < bufs.size(); ++i)
    EXPECT_TRUE(at::equal(bufs[i], buffers[i])) << i;

  // Reference: each image alone, eval mode, its own logit's gradient.
  model->eval();
  for (std::int64_t n = 0; n < 4; ++n) {
    const at::Tensor xi = ((x[n].unsqueeze(0) - mean) / std).detach().requires_grad_(true);
    const at::Tensor logit = model->forward(xi)[0][labels[n].item<std::int64_t>()];
    const at::Tensor g = torch::autograd::grad({logit}, {xi}).at(0);
    EXPECT_TRUE(at::allclose(map[n], g[0].abs().amax(0), 1e-4, 1e-6)) << n;
  }
}

// A policy list of one from YAML, for 1×28×28 images and `model`.
std::unique_ptr<BatchPolicy> keep_policy(const std::string& yaml, models::ClassifierImpl* model,
                                         std::vector<config::Config>& keep_alive) {
  PolicySetup setup;
  setup.channels = 1;
  setup.height = setup.width = 28;
  setup.num_classes = 3;
  setup.mean = {0.5};
  setup.std = {0.5};
  setup.model = model;
  return testing::policy_from_yaml(yaml, setup, keep_alive);
}

// A linear model whose every class looks only at a 4×4 blob (rows 2–5, cols 20–23) of a
// 28×28 image: boxes touching the blob score > 0, all others 0.
testing::LinearClassifier blob_model() {
  at::Tensor w = at::zeros({3, 1, 28, 28});
  w.narrow(2, 2, 4).narrow(3, 20, 4).uniform_(0.5, 1.0);
  return testing::LinearClassifier(w.view({3, -1}));
}

// Over 40 seeds, `yaml`'s cuts erase something and never a pixel of the blob.
void expect_cuts_miss_the_blob(const std::string& yaml) {
  testing::LinearClassifier model = blob_model();
  std::vector<config::Config> configs;
  auto policy = keep_policy(yaml, &model, configs);
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    at::manual_seed(seed);
    PolicyBatch b{at::rand({4, 1, 28, 28}), at::tensor({0, 1, 2, 0}, at::kLong), 3};
    const at::Tensor before = b.images.clone();
    StepContext ctx{step_generator(seed, 0, 0), 0, 0, &model};
    policy->apply(b, ctx);
    const at::Tensor erased = b.images.ne(before);
    EXPECT_GT(erased.sum().item<std::int64_t>(), 0) << yaml;
    EXPECT_EQ(erased.narrow(2, 2, 4).narrow(3, 20, 4).sum().item<std::int64_t>(), 0)
        << yaml << " seed " << seed;
  }
}

TEST(KeepPolicyTest, KeepCutoutNeverTouchesTheSalientRegion) {
  // Boxes touching the blob are fewer than 40% of the positions, so τ = 0.
  expect_cuts_miss_the_blob("{name: keep_cutout, length: 8, saliency: full}");
}

TEST(KeepPolicyTest, KeepRandomErasingNeverTouchesTheSalientRegion) {
  // Small boxes (2–5 % of the image): under 40 % of their positions touch the blob, so τ = 0.
  expect_cuts_miss_the_blob(
      "{name: keep_random_erasing, p: 1.0, area: [0.02, 0.05], saliency: full}");
}

TEST(KeepPolicyTest, KeepRandAugmentPastesACleanSquareTouchingTheSalientRegion) {
  testing::LinearClassifier model = blob_model();
  std::vector<config::Config> configs;
  auto policy = keep_policy(
      "{name: keep_randaugment, num_ops: 2, magnitude: 9, prob: 1.0, paste_length: 8, "
      "saliency: full}",
      &model, configs);
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    at::manual_seed(seed);
    PolicyBatch b{at::rand({4, 1, 28, 28}), at::tensor({0, 1, 2, 0}, at::kLong), 3};
    const at::Tensor clean = b.images.clone();
    StepContext ctx{step_generator(seed, 0, 0), 0, 0, &model};
    policy->apply(b, ctx);
    const at::Tensor same = b.images.eq(clean).select(1, 0);
    for (std::int64_t n = 0; n < 4; ++n) {
      // Some centred, clipped 8×8 square is wholly clean and overlaps the blob's rows/cols.
      bool found = false;
      for (std::int64_t r = 0; r < 28 && !found; ++r) {
        for (std::int64_t c = 0; c < 28 && !found; ++c) {
          const auto y0 = std::max<std::int64_t>(r - 4, 0), y1 = std::min<std::int64_t>(r + 4, 28);
          const auto x0 = std::max<std::int64_t>(c - 4, 0), x1 = std::min<std::int64_t>(c + 4, 28);
          const bool touches = y0 < 6 && y1 > 2 && x0 < 24 && x1 > 20;
          found = touches && same[n].slice(0, y0, y1).slice(1, x0, x1).all().item<bool>();
        }
      }
      EXPECT_TRUE(found) << seed << " " << n;
    }
  }
}

TEST(KeepPolicyTest, EarlyHeadSaliencyNeedsAModelWithAnEarlyHead) {
  auto model = std::make_shared<models::CifarResNetImpl>(8, 1, 3);
  std::vector<config::Config> configs;
  const std::string message = testing::error_message<ConfigError>(
      [&] { keep_policy("{name: keep_cutout, saliency: early_head}", model.get(), configs); });
  EXPECT_NE(message.find("policies[0].saliency"), std::string::npos) << message;
  model->add_early_head();
  EXPECT_NO_THROW(keep_policy("{name: keep_cutout, saliency: early_head}", model.get(), configs));
}

}  // namespace
}  // namespace augcore::augment

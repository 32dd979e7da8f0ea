#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/train/tasks/recipe.h"
#include "augcore/train/tasks/semi_supervised.h"
#include "support/fixtures.h"

namespace augcore::train {
namespace {

// Labelled images are given to compute() directly; the unlabelled set is an IDX pair of
// 2×2 grey images: `pixels[i]` fills image i, label `labels[i]`.
class SemiFixture {
 public:
  SemiFixture(const std::vector<std::uint8_t>& pixels, const std::vector<std::uint8_t>& labels) {
    std::vector<std::uint8_t> px;
    for (const auto v : pixels)
      px.insert(px.end(), 4, v);
    const auto n = static_cast<std::uint32_t>(pixels.size());
    testing::write_bytes(dir_.file("img"), testing::idx_bytes({n, 2, 2}, px));
    testing::write_bytes(dir_.file("lab"), testing::idx_bytes({n}, labels));
  }

  config::Config recipe(const std::string& semi) const {
    const std::string files = "images: " + dir_.file("img") + ", labels: " + dir_.file("lab");
    return config::Config::from_node(
        config::parse_yaml("data:\n  train: {name: idx, " + files +
                               "}\n  unlabelled: {name: idx, " + files +
                               "}\n  train_transforms: []\n  loader: {batch_size: 2, workers: 0}\n"
                               "semi: " +
                               semi + "\n",
                           "t"),
        recipe_schema());
  }

  std::unique_ptr<SemiSupervisedObjective> objective(const config::Config& cfg,
                                                     std::int64_t batches_per_epoch = 4) const {
    SemiSetup setup;
    setup.batch_size = 2;
    setup.total_steps = 10;
    setup.mean = at::zeros({1, 1, 1, 1});
    setup.std = at::ones({1, 1, 1, 1});
    setup.policies.channels = 1;
    setup.policies.height = setup.policies.width = 2;
    setup.policies.num_classes = 3;
    return std::make_unique<SemiSupervisedObjective>(
        cfg.root().section("semi"), cfg.root().section("data"),
        objective::Criterion(objective::CriterionKind::kCrossEntropy, 0), setup, batches_per_epoch);
  }

 private:
  testing::TempDir dir_;
};

// The hand-computed reference: mean cross-entropy of logits z against hard labels.
at::Tensor cross_entropy(const at::Tensor& z, const at::Tensor& y) {
  return -at::log_softmax(z, 1).gather(1, y.unsqueeze(1)).mean();
}

struct Step {
  objective::ObjectiveResult result;
  at::Tensor labelled_logits;
};

Step run(SemiSupervisedObjective& o, const at::Tensor& weight, const at::Tensor& x,
         const at::Tensor& y, std::int64_t step = 0) {
  testing::LinearClassifier model(weight);
  objective::ObjectiveContext context;
  context.step = step;
  return {o.compute(model, x, y, context), at::matmul(x.flatten(1), weight.t())};
}

// Row 0 of W gives class 0 a logit of 8 on an image of 0.2 everywhere (softmax 0.9993).
at::Tensor confident_weight() {
  at::Tensor w = at::zeros({3, 4});
  w[0].fill_(10.0);
  return w;
}

TEST(SemiSupervisedTest, FixMatchLossIsLabelledCrossEntropyPlusWeightedPseudoLabelLoss) {
  // 8 identical unlabelled images (pixel 51 = 0.2), labels 0 0 1 0 0 0 1 0: whichever four the
  // shuffled batch holds, their pseudo-label is class 0.
  SemiFixture f(std::vector<std::uint8_t>(8, 51), {0, 0, 1, 0, 0, 0, 1, 0});
  const at::Tensor w = confident_weight();
  const at::Tensor x = at::rand({2, 1, 2, 2}, at::kFloat), y = at::tensor({1, 2}, at::kLong);
  const at::Tensor u = at::full({4, 4}, 0.2f);
  const at::Tensor pseudo = at::zeros({4}, at::kLong);
  const at::Tensor unlabelled_ce = cross_entropy(at::matmul(u, w.t()), pseudo);

  auto o = f.objective(f.recipe("{method: fixmatch, ratio: 2, threshold: 0.95, weight: 0.5}"));
  o->start_epoch(0, 0);
  const Step s = run(*o, w, x, y);
  const at::Tensor labelled = cross_entropy(s.labelled_logits, y);
  EXPECT_NEAR(s.result.loss.item<double>(), (labelled + 0.5 * unlabelled_ce).item<double>(), 1e-5);
  EXPECT_TRUE(at::allclose(s.result.logits, s.labelled_logits));
  EXPECT_DOUBLE_EQ(s.result.metrics.at("mask_rate").item<double>(), 1.0);
  EXPECT_NEAR(s.result.metrics.at("train_loss_labelled").item<double>(), labelled.item<double>(),
              1e-6);
  const auto& [hits, counted] = s.result.ratios.at("pseudo_label_top1");
  EXPECT_DOUBLE_EQ(counted.item<double>(), 4.0);
  // The four images are a sample of six 0-labels and two 1-labels: 100 × (zeros among them)/4.
  const double accuracy = hits.item<double>() / counted.item<double>();
  EXPECT_TRUE(accuracy == 50 || accuracy == 75 || accuracy == 100) << accuracy;

  // Above the weak view's confidence nothing is pseudo-labelled: the labelled loss alone.
  auto strict = f.objective(f.recipe("{method: fixmatch, ratio: 2, threshold: 0.9995}"));
  strict->start_epoch(0, 0);
  const Step t = run(*strict, w, x, y);
  EXPECT_NEAR(t.result.loss.item<double>(), labelled.item<double>(), 1e-6);
  EXPECT_DOUBLE_EQ(t.result.metrics.at("mask_rate").item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(t.result.ratios.at("pseudo_label_top1").second.item<double>(), 0.0);
}

TEST(SemiSupervisedTest, UdaIsKlToTheSharpenedWeakViewWithAnnealedLabelledLoss) {
  SemiFixture f(std::vector<std::uint8_t>(8, 51), std::vector<std::uint8_t>(8, 0));
  at::Tensor w = at::zeros({3, 4});
  w[0].fill_(2.0);
  w[1].fill_(1.0);  // unlabelled logits (1.6, 0.8, 0): confidence 0.606
  const at::Tensor u = at::full({4, 4}, 0.2f);
  const at::Tensor z = at::matmul(u, w.t());
  const at::Tensor q = at::softmax(z / 0.4, 1);
  const double kl = (q * (q.log() - at::log_softmax(z, 1))).sum(1).mean().item<double>();
  // Labelled: image 0 is confidently right (dropped by annealing), image 1 is not.
  const at::Tensor x = at::stack({at::full({1, 2, 2}, 1.0f), at::full({1, 2, 2}, 0.05f)});
  const at::Tensor y = at::tensor({0, 2}, at::kLong);
  // Step 5 of 10, linear: threshold 0.5 × (1 − 1/3) + 1/3 = 2/3.
  auto o = f.objective(
      f.recipe("{method: uda, ratio: 2, threshold: 0.5, temperature: 0.4, tsa: linear}"));
  o->start_epoch(0, 0);
  const Step s = run(*o, w, x, y, 5);
  const at::Tensor p = at::softmax(s.labelled_logits, 1);
  ASSERT_GT(p[0][0].item<double>(), 2.0 / 3);
  ASSERT_LT(p[1][2].item<double>(), 2.0 / 3);
  const double labelled = -std::log(p[1][2].item<double>());
  EXPECT_NEAR(s.result.loss.item<double>(), labelled + kl, 1e-5);
  EXPECT_DOUBLE_EQ(s.result.metrics.at("mask_rate").item<double>(), 1.0);
  // With UDA's 0.8 the 0.606-confident images do not count.
  auto strict = f.objective(f.recipe("{method: uda, ratio: 2, threshold: 0.8}"));
  strict->start_epoch(0, 0);
  EXPECT_DOUBLE_EQ(run(*strict, w, x, y).result.metrics.at("mask_rate").item<double>(), 0.0);
}

TEST(SemiSupervisedTest, StartingAnywhereGivesTheUnlabelledBatchesOfAnUnbrokenRun) {
  // Distinct images (0, 30, ..., 210) and 2 batches of 4 per pass, so that 4 batches per epoch
  // cross passes; a weight that separates them makes every loss distinct.
  std::vector<std::uint8_t> pixels;
  for (int i = 0; i < 8; ++i)
    pixels.push_back(static_cast<std::uint8_t>(30 * i));
  SemiFixture f(pixels, std::vector<std::uint8_t>(8, 0));
  const auto cfg = f.recipe("{method: fixmatch, ratio: 2, threshold: 0.0}");
  const at::Tensor w = at::arange(12, at::kFloat).reshape({3, 4}) / 10;
  const at::Tensor x = at::rand({2, 1, 2, 2}), y = at::tensor({0, 1}, at::kLong);
  auto unbroken = f.objective(cfg);
  std::vector<double> losses;
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    unbroken->start_epoch(epoch, 0);
    for (int b = 0; b < 4; ++b)
      losses.push_back(
          run(*unbroken, w, x, y).result.metrics.at("train_loss_unlabelled").item<double>());
  }
  // Resumed at epoch 1, batch 3 (global batch 7: pass 3, batch 1).
  auto resumed = f.objective(cfg);
  resumed->start_epoch(1, 3);
  EXPECT_EQ(run(*resumed, w, x, y).result.metrics.at("train_loss_unlabelled").item<double>(),
            losses[7]);
  resumed->start_epoch(2, 0);
  for (int b = 0; b < 4; ++b) {
    EXPECT_EQ(run(*resumed, w, x, y).result.metrics.at("train_loss_unlabelled").item<double>(),
              losses[8 + b])
        << b;
  }
  // Passes are reshuffled: not every pass holds pass 0's two batches (any one pass may, by
  // chance: 1 in 70).
  bool reshuffled = false;
  for (std::size_t p = 1; p < 6; ++p)
    reshuffled |= losses[2 * p] != losses[0] || losses[2 * p + 1] != losses[1];
  EXPECT_TRUE(reshuffled);
}

TEST(SemiSupervisedTest, BadOptionsNameTheirKey) {
  SemiFixture f(std::vector<std::uint8_t>(8, 51), std::vector<std::uint8_t>(8, 0));
  const auto message = [&](const std::string& semi) {
    return testing::error_message<ConfigError>([&] { f.objective(f.recipe(semi)); });
  };
  EXPECT_EQ(message("{method: fixmatch, tsa: linear}"),
            "semi.tsa: training-signal annealing belongs to UDA (method uda)");
  EXPECT_EQ(message("{method: fixmatch, ratio: 5}"),
            "semi.ratio: 5 x 2 unlabelled images per step is more than the 8 of data.unlabelled");
  const auto no_unlabelled =
      config::Config::from_node(config::parse_yaml("semi: {method: uda}\n", "t"), recipe_schema());
  EXPECT_EQ(testing::error_message<ConfigError>([&] { f.objective(no_unlabelled); }),
            "data.unlabelled: semi.method uda needs an unlabelled dataset");
}

}  // namespace
}  // namespace augcore::train

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/objective/semi_supervised.h"

namespace augcore::objective {
namespace {

// Logits whose softmax is exactly `p` (each row sums to 1).
at::Tensor logits_of(const std::vector<std::vector<double>>& p) {
  std::vector<double> flat;
  for (const auto& row : p)
    for (const double v : row)
      flat.push_back(std::log(v));
  return at::tensor(flat, at::kDouble)
      .reshape({static_cast<std::int64_t>(p.size()), -1})
      .to(at::kFloat);
}

// Weak rows: confident on class 0 (0.97), unsure (0.5), confident on class 2 (0.96).
// Strong rows: uniform (CE = ln 3 against class 0), anything, (0.25, 0.25, 0.5) (CE = ln 2
// against class 2). With weight 2: 2 · (ln 3 + 0 + ln 2) / 3.
TEST(FixMatchLossTest, MaskPseudoLabelsAndLossByHand) {
  at::Tensor weak = logits_of({{0.97, 0.02, 0.01}, {0.5, 0.3, 0.2}, {0.01, 0.03, 0.96}});
  weak.requires_grad_();
  at::Tensor strong = logits_of({{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.1, 0.1, 0.8}, {0.25, 0.25, 0.5}});
  strong.requires_grad_();
  const auto r = fixmatch_loss(weak, strong, FixMatchOptions().threshold(0.95).weight(2));
  EXPECT_TRUE(at::equal(r.mask, at::tensor({1.0f, 0.0f, 1.0f})));
  EXPECT_TRUE(at::equal(r.pseudo_labels, at::tensor({0, 0, 2}, at::kLong)));
  EXPECT_NEAR(r.loss.item<double>(), 2 * (std::log(3.0) + std::log(2.0)) / 3, 1e-6);
  r.loss.backward();
  EXPECT_FALSE(weak.grad().defined() && weak.grad().abs().sum().item<double>() > 0);
  EXPECT_GT(strong.grad().abs().sum().item<double>(), 0);
  // The unsure image's strong view gets no gradient.
  EXPECT_EQ(strong.grad()[1].abs().sum().item<double>(), 0);
  // Lowering τ below 0.5 admits the second image too.
  EXPECT_EQ(fixmatch_loss(weak, strong, FixMatchOptions().threshold(0.45)).mask.sum().item<float>(),
            3.0f);
  EXPECT_THROW(fixmatch_loss(weak, strong.slice(0, 0, 2)), OptionError);
  EXPECT_THROW(fixmatch_loss(weak, strong, FixMatchOptions().threshold(1.5)), OptionError);
}

// Weak row 0: (0.9, 0.05, 0.05), confident above 0.8; sharpened at T = 0.5 it is p² / Σp².
// Strong row 0 uniform: KL = Σ t ln t + ln 3. Row 1 (uniform weak) is masked. Loss = KL / 2.
TEST(UdaLossTest, SharpenedTargetMaskAndKlByHand) {
  const at::Tensor weak = logits_of({{0.9, 0.05, 0.05}, {1.0 / 3, 1.0 / 3, 1.0 / 3}});
  const at::Tensor strong = logits_of({{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.2, 0.3, 0.5}});
  const double z = 0.81 + 0.0025 + 0.0025;
  double kl = std::log(3.0);
  for (const double p : {0.81, 0.0025, 0.0025})
    kl += p / z * std::log(p / z);
  const auto r = uda_loss(weak, strong, UdaOptions().temperature(0.5).threshold(0.8));
  EXPECT_TRUE(at::equal(r.mask, at::tensor({1.0f, 0.0f})));
  EXPECT_NEAR(r.loss.item<double>(), kl / 2, 1e-6);
  EXPECT_THROW(uda_loss(weak, strong, UdaOptions().temperature(0)), OptionError);
}

TEST(UdaLossTest, TrainingSignalAnnealingByHand) {
  EXPECT_DOUBLE_EQ(tsa_threshold(TsaSchedule::kLinear, 0.5, 10), 0.5 * 0.9 + 0.1);
  EXPECT_DOUBLE_EQ(tsa_threshold(TsaSchedule::kLog, 1.0, 10), (1 - std::exp(-5.0)) * 0.9 + 0.1);
  EXPECT_DOUBLE_EQ(tsa_threshold(TsaSchedule::kExp, 0.0, 4), std::exp(-5.0) * 0.75 + 0.25);
  EXPECT_DOUBLE_EQ(tsa_threshold(TsaSchedule::kLinear, 1.5, 10), 1.0);  // progress is clamped
  EXPECT_THROW(tsa_threshold(TsaSchedule::kLinear, 0.5, 0), OptionError);
  // Correct-class probabilities 0.9 and 0.3.
  const at::Tensor logits = logits_of({{0.9, 0.1}, {0.7, 0.3}});
  const at::Tensor labels = at::tensor({0, 1}, at::kLong);
  EXPECT_NEAR(annealed_cross_entropy(logits, labels, 0.5).item<double>(), -std::log(0.3), 1e-6);
  EXPECT_NEAR(annealed_cross_entropy(logits, labels, 0.95).item<double>(),
              -(std::log(0.9) + std::log(0.3)) / 2, 1e-6);
  EXPECT_EQ(annealed_cross_entropy(logits, labels, 0.1).item<double>(), 0.0);
}

}  // namespace
}  // namespace augcore::objective

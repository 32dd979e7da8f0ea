#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/optim/sgd.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/objective/criterion.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/ema.h"
#include "augcore/train/state/optimizer_registry.h"
#include "augcore/train/state/schedule_registry.h"
#include "support/fixtures.h"

namespace augcore::train {
namespace {

using augcore::testing::component;

// A module with one scalar weight w (as a 1×1 matrix, so weight decay applies) and a bias.
struct Scalar : torch::nn::Module {
  Scalar() {
    w = register_parameter("w", at::ones({1, 1}));
    b = register_parameter("b", at::ones({1}));
  }
  at::Tensor w, b;
};

// Runs `steps` steps of loss 0.5·(w² + b²) (gradient = the weights) and returns w after each.
std::vector<double> descend(const std::string& yaml, int steps, double lr) {
  Scalar m;
  auto opt = make_optimizer(component("optimizer", yaml), m, lr);
  std::vector<double> ws;
  for (int i = 0; i < steps; ++i) {
    opt->zero_grad();
    (0.5 * (m.w.pow(2).sum() + m.b.pow(2).sum())).backward();
    opt->step();
    ws.push_back(m.w.item<double>());
  }
  return ws;
}

TEST(OptimizerTest, SgdMomentumMatchesHandComputedSteps) {
  // buf1 = 1, w = 0.9; buf2 = 0.9·1 + 0.9 = 1.8, w = 0.72; buf3 = 0.9·1.8 + 0.72 = 2.34, w = 0.486
  const auto ws = descend("{name: sgd, momentum: 0.9, weight_decay: 0}", 3, 0.1);
  EXPECT_NEAR(ws[0], 0.9, 1e-7);
  EXPECT_NEAR(ws[1], 0.72, 1e-7);
  EXPECT_NEAR(ws[2], 0.486, 1e-7);
  // Nesterov: update = g + m·buf = 1 + 0.9 → w = 1 - 0.19
  EXPECT_NEAR(descend("{name: sgd, momentum: 0.9, nesterov: true, weight_decay: 0}", 1, 0.1)[0],
              0.81, 1e-7);
  // Weight decay 0.5 adds 0.5·w to the gradient: w = 1 - 0.1·1.5
  EXPECT_NEAR(descend("{name: sgd, momentum: 0, weight_decay: 0.5}", 1, 0.1)[0], 0.85, 1e-7);
}

TEST(OptimizerTest, BiasesAndNormsAreExcludedFromDecay) {
  Scalar m;
  const auto groups = param_groups(m, true);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[0].decay && groups[0].params[0].is_same(m.w));
  EXPECT_TRUE(!groups[1].decay && groups[1].params[0].is_same(m.b));
  auto opt =
      make_optimizer(component("optimizer", "{name: sgd, momentum: 0, weight_decay: 0.5}"), m, 0.1);
  opt->zero_grad();
  (0.5 * (m.w.pow(2).sum() + m.b.pow(2).sum())).backward();
  opt->step();
  EXPECT_NEAR(m.w.item<double>(), 0.85, 1e-7);  // decayed
  EXPECT_NEAR(m.b.item<double>(), 0.9, 1e-7);   // not decayed
}

// Without a recipe: torch's SGD over torch_param_groups takes the same step, and set_lr keeps
// each group's scale.
TEST(OptimizerTest, TorchParamGroupsCarryDecayAndScale) {
  Scalar m;
  auto groups = param_groups(m, true);
  groups[1].lr_scale = 0.5;
  torch::optim::SGD sgd(torch_param_groups(groups, torch::optim::SGDOptions(0.1), 0.5),
                        torch::optim::SGDOptions(0.1));
  (0.5 * (m.w.pow(2).sum() + m.b.pow(2).sum())).backward();
  sgd.step();
  EXPECT_NEAR(m.w.item<double>(), 0.85, 1e-7);  // 1 - 0.1·(1 + 0.5)
  EXPECT_NEAR(m.b.item<double>(), 0.95, 1e-7);  // 1 - 0.05·1: half the rate, no decay
  set_lr(sgd, 0.2);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[0].options().get_lr(), 0.2);
  EXPECT_DOUBLE_EQ(sgd.param_groups()[1].options().get_lr(), 0.1);
}

TEST(OptimizerTest, AdamWDecouplesWeightDecay) {
  // Step 1 with g = 1: m̂ = 1, v̂ = 1, so w = 1 - lr·wd·1 - lr·1/(1 + eps) = 1 - 0.01 - 0.1
  const auto ws = descend("{name: adamw, weight_decay: 0.1, eps: 0}", 1, 0.1);
  EXPECT_NEAR(ws[0], 0.89, 1e-6);
}

TEST(OptimizerTest, StateRoundTripsThroughItsPyTorchLayout) {
  Scalar a, b;
  auto oa = make_optimizer(component("optimizer", "{name: sgd, weight_decay: 0.5}"), a, 0.1);
  auto ob = make_optimizer(component("optimizer", "{name: sgd, weight_decay: 0.5}"), b, 0.1);
  for (Scalar* m : {&a, &b}) {
    auto& o = m == &a ? *oa : *ob;
    o.zero_grad();
    (0.5 * (m->w.pow(2).sum() + m->b.pow(2).sum())).backward();
    o.step();
  }
  const c10::IValue state = optimizer_state(*oa);
  const auto s0 = state.toGenericDict().at("state").toGenericDict().at(0).toGenericDict();
  EXPECT_NEAR(s0.at("momentum_buffer").toTensor().item<double>(), 1.5, 1e-7);  // g = w + 0.5·w
  load_optimizer_state(*ob, state);
  for (Scalar* m : {&a, &b}) {
    auto& o = m == &a ? *oa : *ob;
    o.zero_grad();
    (0.5 * (m->w.pow(2).sum() + m->b.pow(2).sum())).backward();
    o.step();
  }
  EXPECT_DOUBLE_EQ(a.w.item<double>(), b.w.item<double>());
}

std::unique_ptr<LrSchedule> schedule(const std::string& yaml, double lr, std::int64_t spe,
                                     std::int64_t epochs) {
  return make_schedule(component("schedule", yaml), {lr, spe, epochs});
}

TEST(ScheduleTest, WarmupThenCosine) {
  const auto s = schedule("{name: cosine, warmup_steps: 2, min_lr: 0.01}", 0.1, 5, 2);
  EXPECT_DOUBLE_EQ(s->lr(0), 0.0);
  EXPECT_DOUBLE_EQ(s->lr(1), 0.05);
  EXPECT_DOUBLE_EQ(s->lr(2), 0.1);
  EXPECT_NEAR(s->lr(6), 0.01 + 0.5 * 0.09, 1e-12);  // halfway through the 8 decay steps
  EXPECT_NEAR(s->lr(10), 0.01, 1e-12);
  // Warmup given in epochs: 1 epoch of 5 steps.
  EXPECT_DOUBLE_EQ(schedule("{name: cosine, warmup_epochs: 1}", 0.1, 5, 2)->lr(4), 0.08);
}

// FixMatch: lr · cos(7πk/16K); K = 20 steps, by hand: cos(0) = 1, cos(7π/32) = 0.77301,
// cos(7π/16) = 0.19509.
TEST(ScheduleTest, FixMatchCosine) {
  const auto s = schedule("{name: fixmatch_cosine}", 0.03, 10, 2);
  EXPECT_DOUBLE_EQ(s->lr(0), 0.03);
  EXPECT_NEAR(s->lr(10), 0.03 * 0.7730104534, 1e-10);
  EXPECT_NEAR(s->lr(20), 0.03 * 0.1950903220, 1e-10);
}

TEST(ScheduleTest, StepAndMultistepDecayByEpoch) {
  const auto m = schedule("{name: multistep, milestones: [1, 2], gamma: 0.1}", 0.1, 3, 4);
  EXPECT_DOUBLE_EQ(m->lr(2), 0.1);
  EXPECT_NEAR(m->lr(3), 0.01, 1e-15);
  EXPECT_NEAR(m->lr(6), 0.001, 1e-15);
  const auto s = schedule("{name: step, step_size: 2, gamma: 0.5}", 1.0, 10, 5);
  EXPECT_DOUBLE_EQ(s->lr(19), 1.0);
  EXPECT_DOUBLE_EQ(s->lr(20), 0.5);
  EXPECT_DOUBLE_EQ(s->lr(40), 0.25);
}

// The typed schedules, as a C++ trainer uses them without a recipe: the same hand-computed
// rates, and OptionError for a schedule that cannot run.
TEST(ScheduleTest, TypedSchedulesWithoutARecipe) {
  const LrSchedule::Shape shape{0.1, 5, 2};
  const CosineSchedule cosine(
      shape, CosineScheduleOptions().warmup(WarmupOptions().steps(2)).min_lr(0.01));
  EXPECT_DOUBLE_EQ(cosine.lr(1), 0.05);
  EXPECT_NEAR(cosine.lr(6), 0.01 + 0.5 * 0.09, 1e-12);
  const MultiStepSchedule multistep(shape, MultiStepScheduleOptions().milestones({1}).gamma(0.5));
  EXPECT_DOUBLE_EQ(multistep.lr(4), 0.1);
  EXPECT_DOUBLE_EQ(multistep.lr(5), 0.05);
  EXPECT_DOUBLE_EQ(ConstantSchedule(shape, WarmupOptions().steps(4).start_lr(0.02)).lr(2), 0.06);
  EXPECT_NEAR(FixMatchCosineSchedule({0.03, 10, 2}).lr(20), 0.03 * 0.1950903220, 1e-10);
  EXPECT_THROW(CosineSchedule({0.1, 0, 2}), OptionError);
  EXPECT_THROW(ConstantSchedule(shape, WarmupOptions().steps(-1)), OptionError);
  EXPECT_THROW(MultiStepSchedule(shape, MultiStepScheduleOptions().milestones({-1})), OptionError);
}

TEST(CriterionTest, HandComputedLosses) {
  // logits (0, ln 3): softmax (1/4, 3/4).
  const at::Tensor z = at::tensor({0.0f, static_cast<float>(std::log(3.0))}).unsqueeze(0);
  const at::Tensor label = at::tensor({std::int64_t(1)});
  // Smoothing 0.2 with K = 2 → targets (0.1, 0.9): -(0.1 ln 1/4 + 0.9 ln 3/4) = 0.3975434.
  EXPECT_NEAR(
      objective::Criterion(objective::CriterionKind::kCrossEntropy, 0.2)(z, label).item<double>(),
      0.3975434, 1e-6);
  EXPECT_NEAR(
      objective::Criterion(objective::CriterionKind::kCrossEntropy, 0.0)(z, label).item<double>(),
      -std::log(0.75), 1e-6);
  // Soft targets (0.3, 0.7): -(0.3 ln 1/4 + 0.7 ln 3/4) = 0.6172657.
  EXPECT_NEAR(objective::Criterion(objective::CriterionKind::kCrossEntropy, 0.2)(
                  z, at::tensor({0.3f, 0.7f}).unsqueeze(0))
                  .item<double>(),
              0.6172657, 1e-6);
  // BCE, targets (0, 1): (ln 2 + -ln σ(ln 3)) / 2 = (0.6931472 + 0.2876821) / 2.
  EXPECT_NEAR(objective::Criterion(objective::CriterionKind::kBinaryCrossEntropy, 0.0)(z, label)
                  .item<double>(),
              0.4904146, 1e-6);
}

TEST(EmaTest, AveragesFloatsAndCopiesCounters) {
  struct M : models::ClassifierImpl {
    M() {
      w = register_parameter("w", at::ones({2}));
      n = register_buffer("n", at::zeros({1}, at::kLong));
    }
    at::Tensor forward(const at::Tensor& x) override { return x; }
    std::string head_name() const override { return "w"; }
    std::int64_t num_classes() const override { return 2; }
    at::Tensor w, n;
  };
  auto model = std::make_shared<M>();
  ModelEma ema(std::make_shared<M>(), *model, 0.5);
  {
    at::NoGradGuard g;
    model->w.fill_(3.0);
    model->n.fill_(7);
  }
  ema.update(*model);
  const auto& shadow = static_cast<M&>(ema.model());
  EXPECT_TRUE(at::allclose(shadow.w, at::full({2}, 2.0)));
  EXPECT_EQ(shadow.n.item<std::int64_t>(), 7);
}

}  // namespace
}  // namespace augcore::train

namespace augcore::train {
namespace {

TEST(LossScalerTest, SkipsAndBacksOffOnOverflowGrowsWhenClean) {
  LossScaler scaler(1024.0, 3);
  at::Tensor p = at::ones({2}).requires_grad_();
  scaler.scale((p * 2).sum()).backward();
  EXPECT_TRUE(at::allclose(p.grad(), at::full({2}, 2048.0)));
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_TRUE(at::allclose(p.grad(), at::full({2}, 2.0)));
  scaler.update(true);
  p.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.value(), 512.0);
  for (int i = 0; i < 3; ++i)
    scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.value(), 1024.0);
}

}  // namespace
}  // namespace augcore::train

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "augcore/config/yaml_io.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/shake.h"
#include "support/fixtures.h"

namespace augcore::models {
namespace {

using testing::build_model;
using testing::count_parameters;

TEST(ShakeTest, ParameterCountsMatchThePublishedFigures) {
  // Gastaldi 2017, Table 1: Shake-Shake-26 2×96d has 26.2M parameters (CIFAR-10 head).
  const auto shake_shake = build_model("{name: shake_shake}", ModelShape{3, 10, 32});
  EXPECT_NEAR(count_parameters(*shake_shake) / 1e6, 26.2, 0.05);
  // PyramidNet-272 (α 200, bottleneck): the sum over dyhan0920/PyramidNet-PyTorch's layer rules
  // (widths round(16 + k·200/90), k = 1…90; stem, four BNs and three convs a block, final BN,
  // fc), computed by hand in Python: 26,210,842. The papers print 26.0M (docs/recipes.md).
  const auto pyramid = build_model("{name: pyramidnet_shakedrop}", ModelShape{3, 10, 32});
  EXPECT_EQ(count_parameters(*pyramid), 26210842);
}

TEST(ShakeTest, ShakeScalesTheForwardAndTheGradientSeparately) {
  const at::Tensor x = at::tensor({2.0f, -1.0f}).requires_grad_();
  const at::Tensor y = shake(x, at::tensor({0.25f, -0.5f}), at::tensor({0.75f, 0.1f}));
  EXPECT_TRUE(at::allclose(y, at::tensor({0.5f, 0.5f})));
  y.sum().backward();
  EXPECT_TRUE(at::allclose(x.grad(), at::tensor({0.75f, 0.1f})));
}

TEST(ShakeTest, ShakeShakeMixesItsBranchesPerImageInTrainingAndHalvesThemInEvaluation) {
  torch::manual_seed(1);
  ShakeShakeBlock block(4, 8, 2);  // a width change: the two-path shortcut
  const at::Tensor x = at::randn({6, 4, 8, 8});
  block->eval();
  at::NoGradGuard no_grad;
  const at::Tensor b1 = block->branch1->forward(x), b2 = block->branch2->forward(x);
  const at::Tensor eval_out = block->forward(x);
  const at::Tensor shortcut = eval_out - 0.5 * (b1 + b2);
  // The shortcut by hand: 1×1 convs of relu(x) sampled every 2nd pixel, from (0,0) and (1,1).
  const at::Tensor a = at::relu(x);
  const at::Tensor p1 = block->path1->forward(a.slice(2, 0, 8, 2).slice(3, 0, 8, 2));
  const at::Tensor p2 = block->path2->forward(a.slice(2, 1, 8, 2).slice(3, 1, 8, 2));
  EXPECT_TRUE(
      at::allclose(shortcut, block->shortcut_bn->forward(at::cat({p1, p2}, 1)), 1e-5, 1e-5));
  block->train();
  const at::Tensor t1 = block->branch1->forward(x), t2 = block->branch2->forward(x);
  const at::Tensor sc = block->shortcut_bn->forward(at::cat({p1, p2}, 1));
  const at::Tensor out = block->forward(x);
  // out − shortcut = w·b1 + (1 − w)·b2 with one w ∈ [0, 1] per image.
  const at::Tensor w = ((out - sc - t2) / (t1 - t2)).flatten(1);
  const at::Tensor median = std::get<0>(w.median(1));
  EXPECT_GE(median.min().item<double>(), 0.0);
  EXPECT_LE(median.max().item<double>(), 1.0);
  EXPECT_GT((median.max() - median.min()).item<double>(), 0.05);  // the images draw differently
  const at::Tensor spread = (w - median.unsqueeze(1)).abs();
  EXPECT_GT((spread < 1e-3).to(at::kFloat).mean().item<double>(), 0.99);
}

TEST(ShakeTest, ShakeDropKeepsOrScalesTheResidualAndUsesItsExpectationInEvaluation) {
  torch::manual_seed(2);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({8, 16, 8, 8});
  ShakeDropBottleneck half(16, 6, 1, 0.7);  // residual 24 channels: shortcut zero-padded by 8
  half->eval();
  auto residual = [](ShakeDropBottleneck& b, const at::Tensor& in) {
    at::Tensor r = b->conv1->forward(b->bn1->forward(in));
    r = b->conv2->forward(b->bn2->forward(r).relu_());
    return b->bn4->forward(b->conv3->forward(b->bn3->forward(r).relu_()));
  };
  const at::Tensor padded = at::constant_pad_nd(x, {0, 0, 0, 0, 0, 8});
  EXPECT_TRUE(at::allclose(half->forward(x), 0.7 * residual(half, x) + padded, 1e-5, 1e-5));
  ShakeDropBottleneck kept(16, 6, 1, 1.0), dropped(16, 6, 1, 0.0);
  kept->train();
  dropped->train();
  EXPECT_TRUE(at::allclose(kept->forward(x), residual(kept, x) + padded, 1e-5, 1e-5));
  // Never kept: each image's residual is scaled by its own α ∈ [−1, 1].
  const at::Tensor r = residual(dropped, x);
  const at::Tensor alpha = ((dropped->forward(x) - padded) / r).flatten(1);
  const at::Tensor median = std::get<0>(alpha.median(1));
  EXPECT_GE(median.min().item<double>(), -1.0);
  EXPECT_LE(median.max().item<double>(), 1.0);
  EXPECT_LT(median.min().item<double>(), 0.0);  // 8 draws from U(−1, 1): both signs (p ≈ 0.99)
  EXPECT_GT(median.max().item<double>(), 0.0);
}

TEST(ShakeTest, PyramidNetKeepProbabilityFallsLinearlyToItsLastBlock) {
  PyramidNetImpl net(29, 48, 0.5, 3, 10);  // 3 blocks a stage
  std::vector<double> keep;
  for (const auto& m : net.modules(false))
    if (auto* b = m->as<ShakeDropBottleneck>()) keep.push_back(b->keep_prob());
  ASSERT_EQ(keep.size(), 9u);
  for (std::size_t l = 0; l < 9; ++l)
    EXPECT_DOUBLE_EQ(keep[l], 1.0 - (l + 1) / 9.0 * 0.5);
}

}  // namespace
}  // namespace augcore::models

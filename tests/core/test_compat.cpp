// The version-dependent and CUDA-facing code that can be checked on a CPU: fused attention,
// autocast state, the loss scaler, device-side running sums, channels_last models.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/torch_compat.h"
#include "augcore/models/classifier.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/device_totals.h"
#include "support/fixtures.h"

namespace augcore {
namespace {

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(CompatTest, FusedAttentionEqualsTheExplicitFormula) {
  at::manual_seed(0);
  for (const auto& shape :
       std::vector<std::vector<std::int64_t>>{{2, 3, 17, 16}, {4, 6, 197, 64}, {1, 1, 5, 8}}) {
    const at::Tensor q = at::randn(shape), k = at::randn(shape), v = at::randn(shape);
    // softmax(q kᵀ / √d) v, written out here as a third reference.
    const at::Tensor weights =
        at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(shape[3])), -1);
    const at::Tensor by_hand = at::matmul(weights, v);
    EXPECT_LE(max_diff(compat::scaled_dot_product_attention(q, k, v), by_hand), 2e-5);
    EXPECT_LE(max_diff(compat::explicit_attention(q, k, v), by_hand), 2e-5);
  }
}

TEST(CompatTest, ViTLogitsDoNotDependOnWhetherAttentionIsReturned) {
  // The last block takes the explicit path when its CLS attention is asked for, the fused
  // kernel otherwise (LibTorch 2.x; on a CPU above 128 tokens, hence 257 here): the logits agree
  // and the attention rows are distributions.
  at::manual_seed(1);
  auto vit =
      testing::build_model("{name: vit, patch_size: 2, embed_dim: 48, depth: 3, num_heads: 3}",
                           models::ModelShape{3, 10, 32});
  vit->eval();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({3, 3, 32, 32});
  models::ForwardOptions with_attention;
  with_attention.return_attention = true;
  const auto full = vit->forward_with(x, with_attention);
  EXPECT_LE(max_diff(vit->forward(x), full.logits), 1e-5);
  ASSERT_EQ(full.attention.sizes(), (std::vector<std::int64_t>{3, 256}));
  EXPECT_TRUE(full.attention.ge(0).all().item<bool>());
  EXPECT_LT(full.attention.sum(1).max().item<double>(), 1.0);  // CLS→CLS weight left out
}

TEST(CompatTest, AutocastGuardTurnsCudaAutocastOnWithItsDtypeAndOffAgain) {
  EXPECT_FALSE(compat::cuda_autocast_enabled());
  {
    train::AutocastGuard guard(true, at::kBFloat16);
    EXPECT_TRUE(compat::cuda_autocast_enabled());
    EXPECT_EQ(compat::cuda_autocast_dtype(), at::kBFloat16);
  }
  EXPECT_FALSE(compat::cuda_autocast_enabled());
  {
    train::AutocastGuard guard(true, at::kHalf);
    EXPECT_EQ(compat::cuda_autocast_dtype(), at::kHalf);
  }
  {
    train::AutocastGuard off(false, at::kHalf);
    EXPECT_FALSE(compat::cuda_autocast_enabled());
  }
  // CPU ops are not autocast by the CUDA guard.
  train::AutocastGuard guard(true, at::kBFloat16);
  EXPECT_EQ(at::matmul(at::ones({2, 2}), at::ones({2, 2})).scalar_type(), at::kFloat);
}

TEST(CompatTest, LossScalerChecksEveryGradientAndSkipsUndefinedOnes) {
  train::LossScaler scaler(8.0, 2);
  std::vector<at::Tensor> params{at::ones({3}).requires_grad_(), at::ones({2}).requires_grad_(),
                                 at::ones({4}).requires_grad_()};
  for (auto& p : params)
    p.mutable_grad() = at::full(p.sizes(), 16.0);
  params[1].mutable_grad()[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(scaler.unscale(params));
  EXPECT_TRUE(at::equal(params[2].grad(), at::full({4}, 2.0)));  // still unscaled, as torch does
  params[1].mutable_grad() = at::Tensor();  // a parameter without gradient is no overflow
  EXPECT_TRUE(scaler.unscale(params));
  EXPECT_TRUE(scaler.unscale({}));
}

TEST(DeviceTotalsTest, SumsEqualTheHostLoopBitForBit) {
  at::manual_seed(2);
  const at::Tensor losses = at::rand({50}) * 3;
  double host = 0.25;  // continuing a checkpoint's sum
  train::DeviceTotals totals({{"loss", 0.25}, {"seen", 7}}, c10::Device(c10::kCPU));
  for (std::int64_t i = 0; i < 50; ++i) {
    host += losses[i].item<double>() * 32.0;
    totals.add("loss", losses[i], 32.0);
    totals.add("seen", 32.0);
  }
  const auto sums = totals.read();
  EXPECT_EQ(sums.at("loss"), host);  // exact: the same float64 operations in the same order
  EXPECT_EQ(sums.at("seen"), 7 + 50 * 32.0);
}

TEST(DeviceTotalsTest, ANonFiniteLossIsReportedWithTheStepsItMayBeIn) {
  train::DeviceTotals totals({}, c10::Device(c10::kCPU), 6);
  totals.add("loss", at::scalar_tensor(1.5), 2.0);
  EXPECT_EQ(totals.read_checked(10, 0, "/nonexistent/last.pt").at("loss"), 3.0);
  totals.add("loss", at::scalar_tensor(std::numeric_limits<float>::infinity()), 2.0);
  totals.add("loss", at::scalar_tensor(0.5), 2.0);
  EXPECT_EQ(testing::error_message<train::TrainingError>(
                [&] { totals.read_checked(14, 1, "/x/last.pt"); }),
            "non-finite loss (inf) at step 14 or in the 3 steps before it (epoch 2); stopping. "
            "The last good checkpoint is (none yet)");
}

TEST(CompatTest, ChannelsLastResNetGivesTheContiguousLogits) {
  at::manual_seed(3);
  auto a = testing::build_model("{name: resnet18}", models::ModelShape{3, 10, 32});
  auto b = testing::build_model("{name: resnet18}", models::ModelShape{3, 10, 32});
  ASSERT_TRUE(models::load_state_dict(*b, models::state_dict_ivalue(*a), true).ok());
  {
    at::NoGradGuard no_grad;
    for (auto& p : b->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  a->eval();
  b->eval();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 3, 32, 32});
  const at::Tensor want = a->forward(x);
  const at::Tensor got = b->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_LE(max_diff(got, want), 1e-4);
}

}  // namespace
}  // namespace augcore

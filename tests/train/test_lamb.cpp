#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/model_registry.h"
#include "augcore/train/state/lamb.h"
#include "augcore/train/state/optimizer_registry.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::train {
namespace {

struct Case {
  std::vector<std::pair<int, double>> groups;  // (parameters, weight decay)
  LambOptions options;
};

// The cases of tests/python/optim_reference.py.
std::vector<Case> cases() {
  std::vector<Case> out(3);
  out[0].groups = {{2, 0.02}, {2, 0.0}};
  out[0].options = LambOptions(0.01).betas({0.9, 0.999}).eps(1e-6).max_grad_norm(1.0);
  out[1].groups = {{2, 0.05}};
  out[1].options = LambOptions(0.02).betas({0.8, 0.99}).eps(1e-8).max_grad_norm(0).trust_clip(true);
  out[2].groups = {{1, 0.1}, {1, 0.0}};
  out[2].options = LambOptions(0.005)
                       .bias_correction(false)
                       .grad_averaging(false)
                       .always_adapt(true)
                       .max_grad_norm(5.0);
  return out;
}

at::Tensor at_key(const c10::impl::GenericDict& d, const std::string& key) {
  return d.at(key).toTensor();
}

TEST(LambTest, MatchesTimmsLambStepByStepAndResumesFromItsSavedState) {
  testing::TempDir dir;
  const auto py = testing::run_python("optim_reference.py", {"lamb", dir.file("lamb.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_TRUE(!AUGCORE_TEST_TIMM || py.output.find("reference: timm ") != std::string::npos)
      << py.output;
  const auto ref = pth::load(dir.file("lamb.pth")).toGenericDict();
  const auto all = cases();
  for (std::size_t c = 0; c < all.size(); ++c) {
    std::vector<std::string> names;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (std::size_t g = 0; g < all[c].groups.size(); ++g) {
      std::vector<at::Tensor> params;
      for (int p = 0; p < all[c].groups[g].first; ++p) {
        const std::string name =
            std::to_string(c) + "." + std::to_string(g) + "." + std::to_string(p);
        names.push_back(name);
        params.push_back(at_key(ref, name + ".init").clone().requires_grad_());
      }
      auto o = std::make_unique<LambOptions>(all[c].options);
      o->weight_decay(all[c].groups[g].second);
      groups.emplace_back(params, std::move(o));
    }
    auto lamb = std::make_unique<Lamb>(groups, all[c].options);
    std::vector<at::Tensor> params;
    for (auto& g : lamb->param_groups())
      for (auto& p : g.params())
        params.push_back(p);
    for (int s = 0; s < 4; ++s) {
      if (s == 2) {  // a fresh optimizer over copies, from the saved state, takes over
        std::vector<torch::optim::OptimizerParamGroup> copies;
        std::size_t i = 0;
        for (auto& g : lamb->param_groups()) {
          std::vector<at::Tensor> ps;
          for (std::size_t k = 0; k < g.params().size(); ++k)
            ps.push_back(params[i++].detach().clone().requires_grad_());
          auto o = std::make_unique<LambOptions>(static_cast<const LambOptions&>(g.options()));
          o->step(0);
          copies.emplace_back(ps, std::move(o));
        }
        auto resumed = std::make_unique<Lamb>(copies, all[c].options);
        load_optimizer_state(*resumed, optimizer_state(*lamb));
        lamb = std::move(resumed);
        params.clear();
        for (auto& g : lamb->param_groups())
          for (auto& p : g.params())
            params.push_back(p);
      }
      for (std::size_t i = 0; i < params.size(); ++i)
        params[i].mutable_grad() = at_key(ref, names[i] + ".grad" + std::to_string(s)).clone();
      lamb->step();
      for (std::size_t i = 0; i < params.size(); ++i) {
        const at::Tensor expected = at_key(ref, names[i] + ".after" + std::to_string(s));
        EXPECT_LE((params[i].detach() - expected).abs().max().item<double>(), 2e-6)
            << "case " << c << " parameter " << names[i] << " step " << s;
      }
    }
  }
}

TEST(LambTest, ZeroNormParameterAndTrustClipByHand) {
  // w = 0 (‖w‖ = 0): the trust ratio is 1, so one bias-corrected step moves each entry by
  // lr·sign(g) (m̂/√v̂ = g/|g|, eps 0, no decay term as w = 0).
  at::Tensor w = at::zeros({3}).requires_grad_();
  Lamb zero({w}, LambOptions(0.1).eps(0).weight_decay(0.5).max_grad_norm(0));
  w.mutable_grad() = at::tensor({2.0f, -0.5f, 1.0f});
  zero.step();
  EXPECT_TRUE(at::allclose(w.detach(), at::tensor({-0.1f, 0.1f, -0.1f})));
  // w = (3, 4), g = (1, 1), wd 1: update u = (1, 1) + (3, 4) = (4, 5); ‖w‖/‖u‖ = 5/√41 < 1, so
  // LAMBC's clip changes nothing; without decay nor always_adapt no ratio at all.
  at::Tensor v = at::tensor({3.0f, 4.0f}).requires_grad_();
  Lamb clipped({v}, LambOptions(0.1).eps(0).weight_decay(1).trust_clip(true).max_grad_norm(0));
  v.mutable_grad() = at::tensor({1.0f, 1.0f});
  clipped.step();
  const double r = 5 / std::sqrt(41.0);
  EXPECT_NEAR(v[0].item<double>(), 3 - 0.1 * 4 * r, 1e-6);
  EXPECT_NEAR(v[1].item<double>(), 4 - 0.1 * 5 * r, 1e-6);
  // A large update with a small weight: ratio ‖w‖/‖u‖ = 0.5/1 → clip keeps it (< 1); a tiny
  // update with a large weight: ratio > 1 is clipped to 1 under trust_clip.
  at::Tensor big = at::tensor({100.0f}).requires_grad_();
  Lamb capped({big}, LambOptions(0.1).eps(0).weight_decay(0.001).trust_clip(true).max_grad_norm(0));
  big.mutable_grad() = at::tensor({1.0f});
  capped.step();  // u = 1 + 0.1 = 1.1, ratio 100/1.1 → clipped to 1
  EXPECT_NEAR(big.item<double>(), 100 - 0.1 * 1.1, 1e-4);
}

TEST(LayerDecayTest, EveryViTParameterGetsTimmsScaleAndDecayAndTheGroupsAddUp) {
  testing::TempDir dir;
  const auto py = testing::run_python("optim_reference.py", {"layer_decay", dir.file("ld.pth")});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_TRUE(!AUGCORE_TEST_TIMM || py.output.find("reference: timm ") != std::string::npos)
      << py.output;
  const auto ref = pth::load(dir.file("ld.pth")).toGenericDict();
  auto vit = testing::build_model(
      "{name: vit, patch_size: 8, embed_dim: 48, depth: 3, num_heads: 3, "
      "global_pool: avg}",
      {3, 7, 32});
  for (const char* optimizer : {"lamb", "adamw", "sgd"}) {
    auto opt = make_optimizer(
        testing::component("optimizer", std::string("{name: ") + optimizer +
                                            ", weight_decay: 0.05, layer_decay: 0.65}"),
        *vit, 1.0);
    set_lr(*opt, 2.0);
    std::size_t seen = 0;
    const auto named = vit->named_parameters();
    for (const auto& group : opt->param_groups()) {
      for (const auto& p : group.params()) {
        ++seen;
        std::string name;
        for (const auto& n : named)
          if (n.value().is_same(p)) name = n.key();
        ASSERT_TRUE(ref.contains(name)) << "timm's ViT has no parameter " << name;
        const at::Tensor expected = ref.at(name).toTensor();
        EXPECT_NEAR(group.options().get_lr(), 2.0 * expected[0].item<double>(), 1e-6) << name;
        const double wd =
            std::string(optimizer) == "lamb"
                ? static_cast<const LambOptions&>(group.options()).weight_decay()
            : std::string(optimizer) == "adamw"
                ? static_cast<const torch::optim::AdamWOptions&>(group.options()).weight_decay()
                : static_cast<const torch::optim::SGDOptions&>(group.options()).weight_decay();
        EXPECT_NEAR(wd, expected[1].item<double>(), 1e-7) << name;
      }
    }
    EXPECT_EQ(seen, named.size());
    EXPECT_EQ(seen, ref.size());
  }
  // A CLS-token ViT: the final norm is with the head (MAE's rule: id depth + 1, scale 1); timm
  // groups it with the last block instead (docs/recipes.md).
  auto token = testing::build_model(
      "{name: vit, patch_size: 8, embed_dim: 48, depth: 3, num_heads: 3}", {3, 7, 32});
  for (const auto& g : param_groups(*token, true, 0.5)) {
    for (const auto& name : g.names) {
      const double expected = name.rfind("norm.", 0) == 0 || name.rfind("head.", 0) == 0 ? 1.0
                              : name.rfind("blocks.2.", 0) == 0                          ? 0.5
                              : name.rfind("blocks.0.", 0) == 0                          ? 0.125
                              : name.rfind("blocks.1.", 0) == 0                          ? 0.25
                                                                                         : 0.0625;
      EXPECT_DOUBLE_EQ(g.lr_scale, expected) << name;
    }
  }
  auto resnet = testing::build_model("{name: resnet18}", {3, 10, 32});
  EXPECT_NE(testing::error_message<ConfigError>([&] {
              make_optimizer(testing::component("optimizer", "{name: lamb, layer_decay: 0.65}"),
                             *resnet, 1);
            }).find("optimizer.layer_decay"),
            std::string::npos);
}

}  // namespace
}  // namespace augcore::train

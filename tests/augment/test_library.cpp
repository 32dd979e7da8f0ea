// The library API (augcore/augcore.h): the standalone policies against their registered
// components, on a user's own torch::nn::Module, and the conventions the umbrella header states.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <functional>

#include "augcore/augcore.h"
#include "augcore/augment/policy.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/pth.h"
#include "augcore/models/small_resnets.h"
#include "augcore/models/state_dict.h"
#include "augcore/objective/objective_registry.h"
#include "support/fixtures.h"

namespace augcore::augment {
namespace {

at::Generator cpu_generator(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

// A user's model: not a ClassifierImpl, with BatchNorm (buffers) and its own forward.
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl()
      : conv(register_module("conv",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(4))),
        fc(register_module("fc", torch::nn::Linear(4 * 8 * 8, 3))) {}
  at::Tensor forward(const at::Tensor& x) { return fc(at::relu(bn(conv(x))).flatten(1)); }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  torch::nn::Linear fc;
};
TORCH_MODULE(TinyNet);

using Call = std::function<Batch(Batch, at::Generator)>;

// A registered component built from YAML for 1×8×8 images, 3 classes, mean 0.25, std 0.5,
// label smoothing 0.1, and `model` for saliency.
struct Registered {
  std::unique_ptr<BatchPolicy> policy;
  std::vector<config::Config> keep_alive;
  Registered(const std::string& yaml, models::ClassifierImpl* model) {
    PolicySetup setup;
    setup.channels = 1;
    setup.height = setup.width = 8;
    setup.num_classes = 3;
    setup.mean = {0.25};
    setup.std = {0.5};
    setup.label_smoothing = 0.1;
    setup.model = model;
    policy = testing::policy_from_yaml(yaml, setup, keep_alive);
  }
  Batch operator()(Batch b, std::uint64_t seed, models::ClassifierImpl* model) {
    PolicyBatch pb{b.images, b.targets, 3};
    StepContext ctx{cpu_generator(seed), 0, 0, model};
    policy->apply(pb, ctx);
    return {pb.images, pb.targets};
  }
};

TEST(LibraryTest, EveryStandalonePolicyEqualsItsRegisteredComponentBitForBit) {
  at::manual_seed(0);
  auto model = std::make_shared<models::CifarResNetImpl>(8, 1, 3);
  const SaliencyFn saliency = gradient_saliency(
      in_eval_mode(*model, [&](const at::Tensor& x) { return model->forward(x); }),
      SaliencyOptions().mean({0.25}).std({0.5}));
  const SaliencyFn low_res = gradient_saliency(
      in_eval_mode(*model, [&](const at::Tensor& x) { return model->forward(x); }),
      SaliencyOptions().mean({0.25}).std({0.5}).method(SaliencyMethod::kLowRes));
  const KeepOptions keep = KeepOptions().quantile(0.5);
  const std::vector<std::pair<std::string, Call>> cases = {
      {"{name: cutout, length: 4, p: 0.7}", Cutout(CutoutOptions(4).p(0.7).fill({0.25}))},
      {"{name: random_erasing, p: 0.9, mode: pixel, count: [1, 2]}",
       RandomErasing(RandomErasingOptions()
                         .p(0.9)
                         .mode(ErasingMode::kPixel)
                         .count({1, 2})
                         .mean({0.25})
                         .std({0.5}))},
      {"{name: mixup, alpha: 0.4, mode: elem}",
       Mixup(MixupOptions(3).alpha(0.4).mode(MixMode::kElem).label_smoothing(0.1))},
      {"{name: cutmix, p: 0.8}", CutMix(CutMixOptions(3).p(0.8).label_smoothing(0.1))},
      {"{name: mix, switch_prob: 0.5}",
       MixupOrCutMix(MixupOrCutMixOptions(3).label_smoothing(0.1))},
      {"{name: autoaugment, policy: cifar10}",
       AutoAugment(AutoAugmentOptions().policy("cifar10").fill({0.25}))},
      {"{name: randaugment, num_ops: 3, prob: 0.9}",
       RandAugment(RandAugmentOptions().num_ops(3).prob(0.9).fill({0.25}))},
      {"{name: trivialaugment}", TrivialAugment(TrivialAugmentOptions().fill({0.25}))},
      {"{name: keep_cutout, length: 4, quantile: 0.5}",
       KeepCutout(CutoutOptions(4).fill({0.25}), saliency, keep)},
      {"{name: keep_random_erasing, p: 1.0, quantile: 0.5, saliency: low_res}",
       KeepRandomErasing(RandomErasingOptions().p(1.0).mean({0.25}).std({0.5}), low_res, keep)},
      {"{name: keep_cutmix, quantile: 0.5}",
       KeepCutMix(CutMixOptions(3).label_smoothing(0.1), saliency, keep)},
      {"{name: keep_autoaugment, policy: cifar10, paste_length: 4, quantile: 0.5}",
       KeepAutoAugment(AutoAugmentOptions().policy("cifar10").fill({0.25}), 4, saliency, keep)},
      {"{name: keep_randaugment, paste_length: 4, quantile: 0.5}",
       KeepRandAugment(RandAugmentOptions().fill({0.25}), 4, saliency, keep)},
  };
  for (const auto& [yaml, standalone] : cases) {
    Registered registered(yaml, model.get());
    for (std::int64_t n : {1, 5, 6}) {
      const Batch in{at::rand({n, 1, 8, 8}), at::randint(3, {n}, at::kLong)};
      const Batch a = registered(in, 7, model.get());
      const Batch b = standalone(in, cpu_generator(7));
      EXPECT_TRUE(at::equal(a.images, b.images)) << yaml << " n=" << n;
      EXPECT_TRUE(at::equal(a.targets, b.targets)) << yaml << " n=" << n;
    }
  }
}

TEST(LibraryTest, MraStandaloneEqualsTheRegisteredComponent) {
  testing::TempDir dir;
  models::MaeConfig c = models::mae_preset("mae_tiny_patch4_28");
  c.in_chans = 1;
  models::MaskedAutoencoder mae(c);
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(*mae));
  ckpt.insert("mean", c10::List<double>({0.25}));
  ckpt.insert("std", c10::List<double>({0.5}));
  pth::save(ckpt, dir.file("mae.pt"));
  MraAugmentor mra = load_mra_augmentor(dir.file("mae.pt"), c, MraOptions().p(0.6));
  EXPECT_EQ(mra->options().mean(), std::vector<double>{0.25});  // from the checkpoint
  Registered registered(
      "{name: mra, preset: mae_tiny_patch4_28, in_chans: 1, p: 0.6, "
      "checkpoint: " +
          dir.file("mae.pt") + "}",
      nullptr);
  const at::Tensor x = at::rand({5, 1, 8, 8});
  const Batch a = registered({x, at::zeros({5}, at::kLong)}, 3, nullptr);
  const at::Tensor b = mra(x, cpu_generator(3));
  EXPECT_TRUE(at::equal(a.images, b));
  EXPECT_FALSE(at::equal(b, x));
  // Replay: the drawn parameters give the same output again, e.g. for a second tensor.
  const MraDraw draw = mra->sample(x, cpu_generator(3));
  EXPECT_TRUE(at::equal(mra->apply(x, draw), b));
}

TEST(LibraryTest, MaskSubStandaloneEqualsTheRegisteredObjective) {
  at::manual_seed(1);
  auto model = std::make_shared<models::CifarResNetImpl>(8, 1, 3);
  config::Schema schema;
  schema.add_component("objective", "objective", "objective", "standard");
  const auto cfg = config::Config::from_node(
      config::parse_yaml("objective: {name: masksub, ratio: 0.5, cell: 4}\n", "t"), schema);
  objective::Criterion criterion(objective::CriterionKind::kCrossEntropy, 0.0);
  auto registered = objective::make_objective(cfg.root().component("objective"), criterion);
  const at::Tensor x = at::randn({4, 1, 8, 8});
  const at::Tensor y = at::tensor({0, 1, 2, 1}, at::kLong);
  objective::ObjectiveContext ctx{cpu_generator(9), nullptr};
  const auto a = registered->compute(*model, x, y, ctx);
  objective::MaskSub masksub(objective::MaskSubOptions().cell(4), criterion);
  objective::MaskSubModel m;
  m.forward = [&](const at::Tensor& t) { return model->forward(t); };
  const auto b = masksub(m, x, y, cpu_generator(9));
  EXPECT_TRUE(at::equal(a.loss, b.loss));
  EXPECT_TRUE(at::equal(a.metrics.at("train_loss_sub"), b.sub_loss));
}

TEST(LibraryTest, AUsersModuleDrivesKeepSaliencyWithoutTouchingItsStateOrGradients) {
  at::manual_seed(2);
  TinyNet net;
  net->train();
  const at::Tensor x = at::rand({6, 1, 8, 8});
  const at::Tensor y = at::tensor({0, 1, 2, 0, 1, 2}, at::kLong);
  net->forward(x).sum().backward();
  std::vector<at::Tensor> grads, buffers;
  for (const auto& p : net->parameters())
    grads.push_back(p.grad().clone());
  for (const auto& b : net->buffers())
    buffers.push_back(b.clone());
  const SaliencyFn saliency = gradient_saliency_of(net, SaliencyOptions().mean({0.5}).std({0.25}));
  const Batch cut = KeepCutout(CutoutOptions(3), saliency)(Batch{x, y}, cpu_generator(1));
  const Batch mixed = KeepCutMix(CutMixOptions(3), saliency)(Batch{x, y}, cpu_generator(1));
  EXPECT_FALSE(at::equal(cut.images, x));
  EXPECT_EQ(mixed.targets.sizes(), (at::IntArrayRef{6, 3}));
  EXPECT_TRUE(net->is_training());
  const auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(at::equal(params[i].grad(), grads[i])) << i;
  const auto bufs = net->buffers();
  for (std::size_t i = 0; i < bufs.size(); ++i)
    EXPECT_TRUE(at::equal(bufs[i], buffers[i])) << i;
  // The map is the input gradient of the label logit, |·| (one channel): per image, by hand.
  net->eval();
  const at::Tensor map = saliency(x, y);
  for (std::int64_t n = 0; n < 6; ++n) {
    const at::Tensor xi = ((x[n].unsqueeze(0) - 0.5) / 0.25).detach().requires_grad_(true);
    net->forward(xi)[0][y[n].item<std::int64_t>()].backward();
    EXPECT_TRUE(at::allclose(map[n], xi.grad()[0][0].abs(), 1e-4, 1e-6)) << n;
  }
}

TEST(LibraryTest, MaskSubOnAUsersModuleMasksCellsAndLearnsTheMainPredictions) {
  at::manual_seed(4);
  TinyNet net;
  std::vector<at::Tensor> seen;
  objective::MaskSubModel m;
  m.forward = [&](const at::Tensor& t) {
    seen.push_back(t.detach());
    return net->forward(t);
  };
  auto ce = [](const at::Tensor& z, const at::Tensor& t) {
    const at::Tensor p = t.dim() == 1 ? at::one_hot(t, 3).to(at::kFloat) : t;
    return -(p * at::log_softmax(z, 1)).sum(1).mean();
  };
  const at::Tensor x = at::randn({3, 1, 8, 8}), y = at::tensor({2, 0, 1}, at::kLong);
  // ratio 0.75 of four 4-px cells: exactly three cells of each image are zeroed.
  const auto r = objective::MaskSub(objective::MaskSubOptions().ratio(0.75).cell(4), ce)(
      m, x, y, cpu_generator(5));
  ASSERT_EQ(seen.size(), 2u);
  for (std::int64_t n = 0; n < 3; ++n) {
    int zero_cells = 0;
    for (int c = 0; c < 4; ++c) {
      const at::Tensor cell = seen[1][n][0]
                                  .slice(0, (c / 2) * 4, (c / 2) * 4 + 4)
                                  .slice(1, (c % 2) * 4, (c % 2) * 4 + 4);
      if (cell.eq(0).all().item<bool>()) {
        ++zero_cells;
      } else {
        EXPECT_TRUE(at::equal(
            cell,
            x[n][0].slice(0, (c / 2) * 4, (c / 2) * 4 + 4).slice(1, (c % 2) * 4, (c % 2) * 4 + 4)));
      }
    }
    EXPECT_EQ(zero_cells, 3) << n;
  }
  // Ratio 0: the sub pass sees the image itself, so its loss is the entropy of the main softmax.
  seen.clear();
  const auto r0 = objective::MaskSub(objective::MaskSubOptions().ratio(0).cell(4), ce)(
      m, x, y, cpu_generator(5));
  const at::Tensor p = at::softmax(net->forward(x), 1);
  EXPECT_NEAR(r0.sub_loss.item<double>(), -(p * p.log()).sum(1).mean().item<double>(), 1e-5);
  EXPECT_NEAR(r0.loss.item<double>(),
              0.5 * ce(net->forward(x), y).item<double>() + 0.5 * r0.sub_loss.item<double>(), 1e-5);
  // Split backward: the main part goes through the callback first, the sub part is returned.
  std::vector<double> backed;
  const auto split = objective::MaskSub(objective::MaskSubOptions().cell(4), ce)(
      m, x, y, cpu_generator(5), [&](const at::Tensor& l) {
        backed.push_back(l.item<double>());
        l.backward();
      });
  ASSERT_EQ(backed.size(), 1u);
  EXPECT_NEAR(backed[0], 0.5 * split.main_loss.item<double>(), 1e-6);
  EXPECT_TRUE(split.to_backward.requires_grad());
  EXPECT_FALSE(split.loss.requires_grad());
  EXPECT_TRUE(r.loss.requires_grad());
}

TEST(LibraryTest, OutputsKeepDtypeAndMemoryFormatAndFollowTheGenerator) {
  at::manual_seed(5);
  TinyNet net;
  const SaliencyFn saliency = gradient_saliency_of(net);
  const std::vector<std::pair<std::string, Call>> cases = {
      {"Cutout", Cutout(CutoutOptions(3))},
      {"RandomErasing", RandomErasing(RandomErasingOptions().p(1).mode(ErasingMode::kRandom))},
      {"Mixup", Mixup(MixupOptions(3))},
      {"CutMix", CutMix(CutMixOptions(3))},
      {"MixupOrCutMix", MixupOrCutMix(MixupOrCutMixOptions(3))},
      {"AutoAugment", AutoAugment()},
      {"RandAugment", RandAugment(RandAugmentOptions().prob(1))},
      {"TrivialAugment", TrivialAugment()},
      {"KeepCutout", KeepCutout(CutoutOptions(3), saliency)},
      {"KeepRandomErasing", KeepRandomErasing(RandomErasingOptions().p(1), saliency)},
      {"KeepCutMix", KeepCutMix(CutMixOptions(3), saliency)},
      {"KeepAutoAugment", KeepAutoAugment(AutoAugmentOptions(), 3, saliency)},
      {"KeepRandAugment", KeepRandAugment(RandAugmentOptions().prob(1), 3, saliency)},
  };
  for (const auto& [name, call] : cases) {
    for (const auto dtype : {at::kFloat, at::kBFloat16}) {
      for (std::int64_t n : {1, 3}) {
        const at::Tensor x = at::rand({n, 1, 8, 8}).to(dtype);
        const Batch a = call({x, at::randint(3, {n}, at::kLong)}, cpu_generator(11));
        EXPECT_EQ(a.images.scalar_type(), dtype) << name;
        EXPECT_EQ(a.images.sizes(), x.sizes()) << name;
      }
    }
    // channels_last in, channels_last out (3 channels, so the two layouts differ).
    const at::Tensor rgb = at::rand({4, 3, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
    if (name.rfind("Keep", 0) != 0) {
      const Batch out = call({rgb, at::randint(3, {4}, at::kLong)}, cpu_generator(3));
      EXPECT_TRUE(out.images.is_contiguous(at::MemoryFormat::ChannelsLast)) << name;
    }
    // The same generator seed gives the same batch, another seed another.
    const at::Tensor x = at::rand({6, 1, 8, 8});
    const at::Tensor y = at::tensor({0, 1, 2, 0, 1, 2}, at::kLong);
    const Batch a = call({x, y}, cpu_generator(21)), b = call({x, y}, cpu_generator(21));
    EXPECT_TRUE(at::equal(a.images, b.images) && at::equal(a.targets, b.targets)) << name;
    bool differs = false;
    for (std::uint64_t seed = 22; seed < 26 && !differs; ++seed)
      differs = !at::equal(call({x, y}, cpu_generator(seed)).images, a.images);
    EXPECT_TRUE(differs) << name;
  }
}

TEST(LibraryTest, KeepPoliciesTakeAPrecomputedSaliencyMap) {
  // All the saliency in the top-left 3×3 corner: a 3×3 cut never touches it (τ = 0 there).
  const at::Tensor map = at::zeros({4, 8, 8});
  map.slice(1, 0, 3).slice(2, 0, 3).fill_(1);
  const SaliencyFn unused = [](const at::Tensor&, const at::Tensor&) -> at::Tensor {
    throw std::logic_error("the given map must be used");
  };
  const KeepCutout cut(CutoutOptions(3).fill({0}), unused, KeepOptions().quantile(0.5));
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const at::Tensor x = at::rand({4, 1, 8, 8}) + 1;
    const at::Tensor out = cut.apply(x, cut.sample(x, {}, cpu_generator(seed), map));
    EXPECT_TRUE(out.slice(2, 0, 3).slice(3, 0, 3).gt(0).all().item<bool>()) << seed;
    EXPECT_TRUE(out.eq(0).any().item<bool>()) << seed;
  }
}

TEST(LibraryTest, BadOptionsThrowOneLineNamingTheOption) {
  const auto message = [](const std::function<void()>& f) {
    return testing::error_message<OptionError>(f);
  };
  const at::Tensor x = at::rand({2, 1, 8, 8});
  EXPECT_EQ(message([] { (void)Cutout(CutoutOptions(0)); }), "CutoutOptions.length: 0 is below 1");
  EXPECT_EQ(message([&] { Cutout(CutoutOptions(9))(x); }),
            "CutoutOptions.length: 9 exceeds the 8×8 images");
  EXPECT_EQ(message([&] {
              Cutout(CutoutOptions(2).fill({0.1, 0.2}))(x);
            }),
            "CutoutOptions.fill: 2 values for 1-channel images");
  EXPECT_EQ(message([] {
              (void)RandomErasing(RandomErasingOptions().area({0.5, 0.1}));
            }),
            "RandomErasingOptions.area: [0.5, 0.1] is not a range (min > max)");
  EXPECT_EQ(message([] { (void)Mixup(MixupOptions(3).alpha(-1)); }),
            "MixupOptions.alpha: -1 is not > 0");
  EXPECT_EQ(message([&] {
              Mixup(MixupOptions(3))({x, at::tensor({0, 3}, at::kLong)});
            }),
            "Mixup.targets: labels span [0, 3], outside [0, 3)");
  EXPECT_EQ(message([] { (void)RandAugment(RandAugmentOptions().num_ops(0)); }),
            "RandAugmentOptions.num_ops: 0 is outside [1, 16]");
  EXPECT_EQ(message([] { (void)AutoAugment(AutoAugmentOptions().policy("svhn")); }),
            "AutoAugmentOptions.policy: 'svhn' is not one of imagenet, cifar10");
  const SaliencyFn wrong = [](const at::Tensor& x, const at::Tensor&) {
    return at::ones({x.size(0), 4, 4});
  };
  EXPECT_EQ(message([] {
              (void)KeepCutout(CutoutOptions(2),
                               gradient_saliency([](const at::Tensor& t) { return t; }),
                               KeepOptions().quantile(1.5));
            }),
            "KeepOptions.quantile: 1.5 is outside [0, 1]");
  EXPECT_EQ(message([&] {
              KeepCutout(CutoutOptions(2), wrong)({x, {}});
            }),
            "KeepCutout.saliency: the map is [2, 4, 4], the images need 2×8×8");
  EXPECT_EQ(message([&] {
              gradient_saliency([](const at::Tensor& t) { return t.flatten(1).sum(1); })(x, {});
            }),
            "saliency.logits: the model returned [2] for 2 images; expected N×K logits");
  models::MaeConfig c = models::mae_preset("mae_tiny_patch4_28");
  c.in_chans = 1;
  EXPECT_EQ(message([&] {
              (void)MraAugmentor(models::MaskedAutoencoder(c), MraOptions().mask_ratio(1.5));
            }),
            "MraOptions.mask_ratio: 1.5 is outside [0, 0.99]");
  EXPECT_EQ(message([&] {
              MraAugmentor(models::MaskedAutoencoder(c),
                           MraOptions().mean({0.5}).std({0.5}))(at::rand({1, 1, 10, 10}));
            }),
            "MraAugmentor.images: the augmentor's patch size 4 does not divide 10×10 images");
  EXPECT_EQ(message([] {
              (void)objective::MaskSub(
                  objective::MaskSubOptions().ratio(-0.1),
                  [](const at::Tensor& z, const at::Tensor&) { return z.sum(); });
            }),
            "MaskSubOptions.ratio: -0.1 is outside [0, 0.99]");
  objective::MaskSubModel m;
  m.forward = [](const at::Tensor& t) { return t.flatten(1).sum(1); };
  EXPECT_EQ(message([&] {
              objective::MaskSub(objective::MaskSubOptions().cell(4),
                                 [](const at::Tensor& z, const at::Tensor&) { return z.sum(); })(
                  m, at::rand({2, 1, 8, 8}), {});
            }),
            "MaskSubModel.forward: returned [2] for 2 images; expected N×K logits");
  // Inputs are checked before any work: a label the classes do not have is the documented
  // error, not LibTorch's gather failing inside the saliency pass (found by an outside user).
  TinyNet net;
  const SaliencyFn model_saliency =
      gradient_saliency_of(net, SaliencyOptions().mean({0.5}).std({0.25}));
  const at::Tensor x6 = at::rand({2, 1, 8, 8});
  const at::Tensor beyond = at::tensor({0, 7}, at::kLong);
  EXPECT_EQ(message([&] {
              KeepCutMix(CutMixOptions(3), model_saliency)({x6, beyond});
            }),
            "KeepCutMix.targets: labels span [0, 7], outside [0, 3)");
  EXPECT_EQ(message([&] {
              KeepCutout(CutoutOptions(2), model_saliency)({x6, beyond});
            }),
            "saliency.targets: labels span [0, 7], outside the model's [0, 3)");
  EXPECT_EQ(message([&] {
              KeepCutout(CutoutOptions(2), model_saliency)({x6, at::zeros({3}, at::kLong)});
            }),
            "KeepCutout.targets: 3 targets for 2 images");
  EXPECT_EQ(message([&] {
              objective::MaskSub(objective::MaskSubOptions().cell(4),
                                 [](const at::Tensor& z, const at::Tensor&) { return z.sum(); })(
                  m, at::rand({1, 8, 8}), {});
            }),
            "MaskSub.images: expected N×C×H×W, got 3 dimensions");
  // A checkpoint of another kind: a classifier's weights.
  testing::TempDir dir;
  auto ckpt = pth::new_dict();
  ckpt.insert("model",
              models::state_dict_ivalue(*std::make_shared<models::CifarResNetImpl>(8, 1, 3)));
  pth::save(ckpt, dir.file("classifier.pt"));
  const std::string bad =
      testing::error_message<DataError>([&] { load_mra_augmentor(dir.file("classifier.pt"), c); });
  EXPECT_NE(bad.find(dir.file("classifier.pt") + ": does not fit the MAE architecture"),
            std::string::npos)
      << bad;
}

}  // namespace
}  // namespace augcore::augment

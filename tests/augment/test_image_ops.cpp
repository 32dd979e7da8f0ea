#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/image_ops.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/augment/three_augment.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "support/fixtures.h"
#include "support/python.h"

namespace augcore::augment {
namespace {

at::Tensor get(const c10::IValue& dict, const std::string& key) {
  return dict.toGenericDict().at(key).toTensor();
}

Op op_by_name(const std::string& name) {
  for (std::int64_t k = 0; k <= static_cast<std::int64_t>(Op::kInvert); ++k) {
    if (name == op_name(static_cast<Op>(k))) return static_cast<Op>(k);
  }
  throw std::invalid_argument(name);
}

class OpParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const auto py = testing::run_python("op_reference.py", {dir_->file("ops.pth")});
    ASSERT_EQ(py.exit_code, 0) << py.output;
    ref_ = new c10::IValue(pth::load(dir_->file("ops.pth")));
  }
  static void TearDownTestSuite() {
    delete ref_;
    delete dir_;
  }

  // Our batched op on all images at once against torchvision image by image.
  static at::Tensor ours(const std::string& key, Op op, ops::Interpolation interpolation,
                         const std::string& images = "images") {
    const at::Tensor x = get(*ref_, images);
    const at::Tensor m = get(*ref_, key + "_m");
    OpSettings s{interpolation, at::tensor({0.1f, 0.5f, 0.9f}).narrow(0, 0, x.size(1))};
    return apply_ops(x, at::full({x.size(0)}, static_cast<std::int64_t>(op), at::kLong), m, s);
  }
  static at::Tensor ref(const std::string& key) { return get(*ref_, key); }

  static testing::TempDir* dir_;
  static c10::IValue* ref_;
};
testing::TempDir* OpParityTest::dir_ = nullptr;
c10::IValue* OpParityTest::ref_ = nullptr;

TEST_F(OpParityTest, GeometricOpsMatchTorchvision) {
  for (const char* name : {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}) {
    for (const auto& [tag, interp] :
         {std::pair<std::string, ops::Interpolation>{"nearest", ops::Interpolation::kNearest},
          {"bilinear", ops::Interpolation::kBilinear}}) {
      const std::string key = std::string(name) + "_" + tag;
      const at::Tensor diff = (ours(key, op_by_name(name), interp) - ref(key)).abs();
      // One batched grid-sample vs torchvision's per-image one: same float32 arithmetic.
      EXPECT_LE(diff.max().item<double>(), 1e-5) << key;
    }
  }
}

TEST_F(OpParityTest, ColourOpsMatchTorchvision) {
  for (const char* name :
       {"Brightness", "Color", "Contrast", "Sharpness", "Solarize", "AutoContrast", "Invert"}) {
    const at::Tensor diff = (ours(name, op_by_name(name), {}) - ref(name)).abs();
    EXPECT_LE(diff.max().item<double>(), 1e-6) << name;
  }
  const at::Tensor grey = ours("Contrast_grey", Op::kContrast, {}, "grey");
  EXPECT_LE((grey - ref("Contrast_grey")).abs().max().item<double>(), 1e-6);
}

TEST_F(OpParityTest, EightBitOpsMatchTorchvisionOnTheSameLevels) {
  // torchvision 0.14 runs these on uint8 only; ours quantise [0,1] pixels to the same levels.
  for (const char* name : {"Posterize", "Equalize"}) {
    const at::Tensor diff = (ours(name, op_by_name(name), {}) - ref(name)).abs();
    EXPECT_LE(diff.max().item<double>(), 1e-6) << name;
  }
}

TEST_F(OpParityTest, GrayscaleAndPerImageGaussianBlurMatchTorchvision) {
  EXPECT_LE((ops::grayscale(ref("images")) - ref("Grayscale")).abs().max().item<double>(), 1e-6);
  // Four σ in one call, each with its own torchvision kernel (3 to 13 taps).
  const at::Tensor blurred = ops::gaussian_blur(ref("images"), ref("Blur_m"));
  EXPECT_LE((blurred - ref("Blur")).abs().max().item<double>(), 2e-6);
}

TEST_F(OpParityTest, ThreeAugmentWithAGivenDrawMatchesTorchvisionsOps) {
  ThreeAugmentDraw draw;
  draw.choice = ref("ThreeAugment_choice");
  draw.sigma = ref("ThreeAugment_sigma");
  draw.factors = ref("ThreeAugment_factors");
  draw.order = ref("ThreeAugment_order");
  const at::Tensor out = ThreeAugment().apply(ref("images"), draw);
  EXPECT_LE((out - ref("ThreeAugment")).abs().max().item<double>(), 2e-6);
}

TEST(ThreeAugmentTest, EachOpIsChosenForAThirdOfTheImagesAndJitterOrdersAreUniform) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  const ThreeAugment three;
  const auto d = three.sample(6000, g);
  for (std::int64_t k = 0; k < 3; ++k) {
    // Binomial(6000, 1/3): s.d. 36.5; 4 s.d. either side.
    EXPECT_NEAR(d.choice.eq(k).sum().item<double>(), 2000, 146) << "op " << k;
    EXPECT_NEAR(d.order.select(1, 0).eq(k).sum().item<double>(), 2000, 146) << "first " << k;
  }
  EXPECT_TRUE(std::get<0>(d.order.sort(1)).eq(at::arange(3).expand({6000, 3})).all().item<bool>());
  EXPECT_GE(d.sigma.min().item<double>(), 0.1);
  EXPECT_LE(d.sigma.max().item<double>(), 2.0);
  EXPECT_GE(d.factors.min().item<double>(), 0.7);
  EXPECT_LE(d.factors.max().item<double>(), 1.3);
  // Without jitter, every image is exactly its chosen op's result.
  const at::Tensor x = at::rand({30, 3, 12, 12}, g);
  const ThreeAugment plain(ThreeAugmentOptions().color_jitter(0));
  const auto draw = plain.sample(30, g);
  const at::Tensor out = plain.apply(x, draw);
  for (std::int64_t i = 0; i < 30; ++i) {
    const at::Tensor xi = x.narrow(0, i, 1);
    const std::int64_t c = draw.choice[i].item<std::int64_t>();
    const at::Tensor expected = c == 0   ? ops::grayscale(xi)
                                : c == 1 ? ops::solarize(xi, at::full({1}, 128.0 / 255.0))
                                         : ops::gaussian_blur(xi, draw.sigma.narrow(0, i, 1));
    EXPECT_TRUE(at::allclose(out.narrow(0, i, 1), expected, 1e-6, 1e-6)) << "image " << i;
  }
  EXPECT_THROW(ThreeAugment(ThreeAugmentOptions().blur_sigma_min(0)), OptionError);
}

TEST(ImageOpsTest, SolarizeAddAndGreySaturationByHand) {
  const at::Tensor x = at::tensor({0.1f, 0.4f, 0.6f, 0.95f}).view({1, 1, 2, 2});
  // Pixels below 128/255 gain 0.5, clipped at 1; the others stay.
  const at::Tensor y = ops::solarize_add(x, at::tensor({0.5}), 128.0 / 255.0);
  EXPECT_TRUE(at::allclose(y, at::tensor({0.6f, 0.9f, 0.6f, 0.95f}).view({1, 1, 2, 2})));
  EXPECT_TRUE(at::equal(ops::saturation(x, at::tensor({0.2})), x));
}

TEST(ImageOpsTest, OnlyTheImagesThatDrewAnOpChange) {
  const at::Tensor x = at::rand({4, 3, 8, 8});
  const at::Tensor op = at::tensor(
      {static_cast<std::int64_t>(Op::kInvert), static_cast<std::int64_t>(Op::kIdentity),
       static_cast<std::int64_t>(Op::kRotate), static_cast<std::int64_t>(Op::kIdentity)});
  const at::Tensor y = apply_ops(x, op, at::tensor({0.0, 0.0, 90.0, 0.0}),
                                 {ops::Interpolation::kNearest, at::zeros({3})});
  EXPECT_TRUE(at::allclose(y[0], 1 - x[0]));
  EXPECT_TRUE(at::equal(y[1], x[1]));
  EXPECT_TRUE(at::equal(y[3], x[3]));
  // 90° on a square image is a transpose-and-flip: every pixel survives.
  EXPECT_TRUE(at::equal(y[2], x[2].rot90(1, {1, 2})));
}

TEST(AutoAugmentTest, PolicyTablesMatchTorchvisionsTranscription) {
  const auto py = testing::run_python("op_reference.py", {"tables"});
  ASSERT_EQ(py.exit_code, 0) << py.output;
  std::istringstream lines(py.output);
  std::map<std::string, std::vector<SubPolicyStep>> expected;
  std::string policy, op;
  double prob;
  int level;
  while (lines >> policy >> op >> prob >> level)
    expected[policy].push_back({op_by_name(op), prob, level});
  ASSERT_EQ(expected.size(), 2u);
  for (const auto& [name, steps] : expected) {
    const auto& ours = autoaugment_policy(name);
    ASSERT_EQ(ours.size() * 2, steps.size()) << name;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const SubPolicyStep& s = ours[i / 2][i % 2];
      EXPECT_EQ(s.op, steps[i].op) << name << " " << i;
      EXPECT_EQ(s.probability, steps[i].probability) << name << " " << i;
      EXPECT_EQ(s.level, steps[i].level) << name << " " << i;
    }
  }
}

TEST(AutoAugmentTest, MagnitudeLevelsFollowTorchvisionsBins) {
  EXPECT_NEAR(autoaugment_magnitude(Op::kRotate, 9, 32, 32), 30.0, 1e-12);
  EXPECT_NEAR(autoaugment_magnitude(Op::kShearX, 3, 32, 32), 0.1, 1e-12);
  EXPECT_NEAR(autoaugment_magnitude(Op::kTranslateX, 9, 20, 331), 150.0, 1e-9);
  EXPECT_NEAR(autoaugment_magnitude(Op::kTranslateY, 9, 20, 331), 150.0 / 331.0 * 20, 1e-9);
  // 8 - round(level / 2.25), as torchvision's table prints it.
  const double bits[] = {8, 8, 7, 7, 6, 6, 5, 5, 4, 4};
  for (int l = 0; l < 10; ++l)
    EXPECT_EQ(autoaugment_magnitude(Op::kPosterize, l, 8, 8), bits[l]) << l;
  EXPECT_NEAR(autoaugment_magnitude(Op::kSolarize, 0, 8, 8), 1.0, 1e-12);
  EXPECT_NEAR(autoaugment_magnitude(Op::kSolarize, 9, 8, 8), 0.0, 1e-12);
}

TEST(AutoAugmentTest, PoliciesAreReproducibleBoundedAndHonourTheirProbability) {
  config::Schema schema;
  schema.add_component_list("policies", "policy", "policies");
  PolicySetup setup;
  setup.channels = 3;
  setup.height = setup.width = 24;
  setup.mean = {0.5};
  setup.std = {0.25};
  const at::Tensor images = at::rand({16, 3, 24, 24});
  for (const std::string yaml :
       {"{name: autoaugment, policy: imagenet}", "{name: autoaugment, policy: cifar10}",
        "{name: randaugment}", "{name: trivialaugment}", "{name: randaugment, prob: 0.0}"}) {
    const config::Config cfg =
        config::Config::from_node(config::parse_yaml("policies: [" + yaml + "]\n", "t"), schema);
    auto policy = std::move(make_policies(cfg.root().components("policies"), setup).front());
    auto run = [&](std::uint64_t seed) {
      PolicyBatch b{images.clone(), at::zeros({16}, at::kLong), 10};
      StepContext ctx{step_generator(seed, 0, 0)};
      policy->apply(b, ctx);
      return b.images;
    };
    const at::Tensor a = run(1), again = run(1), other = run(2);
    EXPECT_TRUE(at::equal(a, again)) << yaml;
    EXPECT_EQ(a.sizes(), images.sizes());
    EXPECT_GE(a.min().item<double>(), 0.0) << yaml;
    EXPECT_LE(a.max().item<double>(), 1.0) << yaml;
    const auto changed = a.ne(images).flatten(1).any(1).sum().item<std::int64_t>();
    if (yaml.find("prob: 0.0") != std::string::npos) {
      EXPECT_EQ(changed, 0);  // every drawn op skipped
    } else {
      EXPECT_GT(changed, 4) << yaml;
      EXPECT_FALSE(at::equal(a, other)) << yaml;
    }
  }
}

}  // namespace
}  // namespace augcore::augment

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <fstream>
#include <set>

#include "augcore/augment/policy.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/models/small_resnets.h"
#include "augcore/models/swin.h"
#include "augcore/models/vit.h"
#include "augcore/objective/masksub.h"
#include "augcore/objective/objective_registry.h"
#include "augcore/train/loop/trainer.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore::objective {
namespace {

std::unique_ptr<Objective> masksub(const std::string& options, const std::string& loss = "ce") {
  config::Schema schema;
  schema.add_component("objective", "objective", "standard", "the objective");
  const config::Config cfg = config::Config::from_node(
      config::parse_yaml("objective: {name: masksub" + options + "}\n", "t"), schema);
  config::Node loss_node = config::Node::map();
  config::apply_override(loss_node, "kind=" + loss);
  const config::Config loss_cfg = config::Config::from_node(loss_node, criterion_schema());
  return make_objective(cfg.root().component("objective"), make_criterion(loss_cfg.root()));
}

ObjectiveContext context(std::uint64_t seed) {
  return {augment::step_generator(seed, 0, 0, data::Stream::kObjective),
          [](const at::Tensor& part) { part.backward(); }};
}

// A ViT with 4-px patches on grey images.
models::ViTConfig grey_vit(std::int64_t side, std::int64_t classes, std::int64_t dim,
                           std::int64_t depth, std::int64_t heads) {
  models::ViTConfig c;
  c.img_size = side;
  c.patch_size = 4;
  c.in_chans = 1;
  c.num_classes = classes;
  c.embed_dim = dim;
  c.depth = depth;
  c.num_heads = heads;
  return c;
}

std::vector<at::Tensor> gradients(models::ClassifierImpl& model, Objective& objective,
                                  const at::Tensor& x, const at::Tensor& y) {
  for (auto& p : model.parameters())
    p.mutable_grad() = at::Tensor();
  ObjectiveContext ctx = context(11);
  at::manual_seed(5);  // drop-path draws, if any, use the global generator
  const ObjectiveResult r = objective.compute(model, x, y, ctx);
  ctx.backward(r.backward_loss.defined() ? r.backward_loss : r.loss);
  std::vector<at::Tensor> g;
  for (auto& p : model.parameters())
    g.push_back(p.grad().defined() ? p.grad().clone() : at::zeros_like(p));
  return g;
}

TEST(MaskSubTest, JointAndSplitBackwardGiveTheSameGradients) {
  at::manual_seed(0);
  auto vit = std::make_shared<models::ViTImpl>(grey_vit(16, 5, 32, 2, 4));
  auto cnn = std::make_shared<models::CifarResNetImpl>(8, 1, 5);
  const at::Tensor x = at::randn({6, 1, 16, 16});
  const at::Tensor y = at::tensor({0, 1, 2, 3, 4, 0}, at::kLong);
  for (models::ClassifierImpl* model : {static_cast<models::ClassifierImpl*>(vit.get()),
                                        static_cast<models::ClassifierImpl*>(cnn.get())}) {
    model->train();
    const std::string cell = model == cnn.get() ? ", cell: 4" : "";
    // BN statistics move with every train-mode pass: give both runs the same start.
    std::vector<at::Tensor> buffers;
    for (const auto& b : model->buffers())
      buffers.push_back(b.clone());
    const auto joint = gradients(*model, *masksub(", backward: joint" + cell), x, y);
    auto bufs = model->buffers();
    for (std::size_t i = 0; i < bufs.size(); ++i)
      bufs[i].copy_(buffers[i]);
    const auto split = gradients(*model, *masksub(", backward: split" + cell), x, y);
    ASSERT_EQ(joint.size(), split.size());
    for (std::size_t i = 0; i < joint.size(); ++i) {
      // Two backward passes sum the same terms in another order: float32 rounding only.
      EXPECT_TRUE(at::allclose(joint[i], split[i], 1e-5, 1e-7)) << i;
    }
  }
}

TEST(MaskSubTest, NoGradientReachesTheMainLogitsThroughTheSubLoss) {
  at::manual_seed(1);
  testing::LinearClassifier model(at::randn({3, 16}));
  const at::Tensor x = at::randn({4, 1, 4, 4});
  const at::Tensor y = at::tensor({0, 2, 1, 1}, at::kLong);
  auto objective = masksub(", cell: 2");
  ObjectiveContext ctx = context(2);
  const ObjectiveResult r = objective->compute(model, x, y, ctx);
  // d loss / d main logits must be weight_main · d CE(main, y) / d main logits only.
  const at::Tensor got = torch::autograd::grad({r.loss}, {r.logits}, {}, true).at(0);
  const at::Tensor ce = at::cross_entropy_loss(r.logits, y);
  const at::Tensor expect = torch::autograd::grad({0.5 * ce}, {r.logits}).at(0);
  EXPECT_TRUE(at::allclose(got, expect, 1e-6, 1e-8));
}

TEST(MaskSubTest, LossEqualsAHandComputedValueForSoftTargetCeAndBce) {
  // One 1×2×2 image, 3 classes, cell 1: the sub pass zeroes exactly 2 of the 4 pixels.
  const at::Tensor w =
      at::tensor({0.5f, -1.0f, 0.25f, 2.0f, -0.5f, 1.5f, 1.0f, 0.0f, 0.75f, 0.25f, -2.0f, 1.0f})
          .view({3, 4});
  testing::LinearClassifier model(w.clone());
  const at::Tensor x = at::tensor({1.0f, 2.0f, -1.0f, 0.5f}).view({1, 1, 2, 2});
  const at::Tensor y = at::tensor({2}, at::kLong);
  at::Generator g = augment::step_generator(3, 0, 0, data::Stream::kObjective);
  const at::Tensor mask = random_cell_mask(1, 2, 2, 1, 0.5, g);
  ASSERT_EQ(mask.sum().item<double>(), 2.0);
  const at::Tensor zm = at::matmul(x.flatten(1), w.t())[0];
  const at::Tensor zs = at::matmul((x * (1 - mask)).flatten(1), w.t())[0];
  // Cross-entropy: L_main = -log p_main[y]; L_sub = -Σ p_main log p_sub.
  const at::Tensor pm = zm.exp() / zm.exp().sum();
  const at::Tensor ls = zs - zs.exp().sum().log();
  const double ce =
      0.5 * -(zm[2] - zm.exp().sum().log()).item<double>() + 0.5 * -(pm * ls).sum().item<double>();
  ObjectiveContext c1 = context(3);
  EXPECT_NEAR(masksub(", cell: 1")->compute(model, x, y, c1).loss.item<double>(), ce, 1e-6);
  // BCE: mean over classes of -(t log σ(z) + (1-t) log(1-σ(z))), t = one-hot, then σ(z_main).
  auto bce = [](const at::Tensor& z, const at::Tensor& t) {
    const at::Tensor s = z.sigmoid();
    return -(t * s.log() + (1 - t) * (1 - s).log()).mean().item<double>();
  };
  const at::Tensor onehot = at::tensor({0.0f, 0.0f, 1.0f});
  const double expect_bce = 0.5 * bce(zm, onehot) + 0.5 * bce(zs, zm.sigmoid());
  ObjectiveContext c2 = context(3);
  EXPECT_NEAR(masksub(", cell: 1", "bce")->compute(model, x, y, c2).loss.item<double>(), expect_bce,
              1e-6);
}

TEST(MaskSubTest, CnnMaskCoversExactlyFloorLrCellsAlignedToTheGrid) {
  at::Generator g = augment::step_generator(4, 0, 0);
  for (double r : {0.25, 0.5, 0.7}) {
    const at::Tensor m = random_cell_mask(8, 28, 21, 7, r, g);  // 4×3 = 12 cells of 7 px
    const auto masked = static_cast<std::int64_t>(std::floor(12 * r));
    const at::Tensor cells = m.view({8, 4, 7, 3, 7}).permute({0, 1, 3, 2, 4}).reshape({8, 12, 49});
    // Every cell is wholly masked or wholly kept.
    EXPECT_TRUE(at::equal(cells.amin(2), cells.amax(2)));
    EXPECT_TRUE(at::equal(cells.amax(2).sum(1), at::full({8}, static_cast<float>(masked))));
  }
}

TEST(MaskSubTest, ViTSubPassSeesExactlyHalfThePatchTokens) {
  at::Generator g = augment::step_generator(5, 0, 0);
  const at::Tensor keep = random_kept_tokens(3, 49, 0.5, g);
  EXPECT_EQ(keep.sizes(), (at::IntArrayRef{3, 24}));  // floor(49 / 2)
  for (std::int64_t n = 0; n < 3; ++n) {
    std::set<std::int64_t> s;
    for (std::int64_t k = 0; k < 24; ++k)
      s.insert(keep[n][k].item<std::int64_t>());
    EXPECT_EQ(s.size(), 24u);
    EXPECT_GE(*s.begin(), 0);
    EXPECT_LT(*s.rbegin(), 49);
  }
  models::ViTImpl vit(grey_vit(28, 3, 16, 1, 2));
  models::ForwardOptions o;
  o.keep_tokens = keep;
  o.return_attention = true;
  // The CLS row attends over the kept patch tokens only.
  EXPECT_EQ(vit.forward_with(at::rand({3, 1, 28, 28}), o).attention.size(1), 24);
}

TEST(MaskSubTest, SwinSubPassMasksAugsubsUnitCountWithItsMaskToken) {
  at::Generator g = augment::step_generator(6, 0, 0);
  // augsub: 7×7 units at r = 0.5 keep int(49 · 0.5) = 24, so 25 are masked.
  const at::Tensor m = random_unit_mask(4, 7, 7, 0.5, g);
  EXPECT_EQ(m.sizes(), (at::IntArrayRef{4, 7, 7}));
  EXPECT_TRUE(at::equal(m.sum({1, 2}), at::full({4}, 25.0f)));
  EXPECT_TRUE(at::equal(m.eq(0).logical_or(m.eq(1)), at::ones_like(m, at::kBool)));

  models::SwinConfig c;
  c.img_size = 64;
  c.in_chans = 1;
  c.num_classes = 3;
  c.embed_dim = 8;
  c.depths = {1, 1};
  c.num_heads = {1, 2};
  c.window_size = 4;
  auto plain = std::make_shared<models::SwinImpl>(c);
  const std::string message =
      testing::error_message<ConfigError>([&] { masksub("")->check(*plain, 64, 64); });
  EXPECT_NE(message.find("model.mask_token"), std::string::npos) << message;
  c.mask_token = true;
  auto swin = std::make_shared<models::SwinImpl>(c);
  auto objective = masksub("");
  objective->check(*swin, 64, 64);
  // Only the sub pass reaches the mask token: its gradient is nonzero after one step.
  const at::Tensor x = at::randn({4, 1, 64, 64}), y = at::tensor({0, 1, 2, 0}, at::kLong);
  const auto grads = gradients(*swin, *objective, x, y);
  const auto names = swin->named_parameters();
  bool found = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].key() != "mask_token") continue;
    found = true;
    EXPECT_GT(grads[i].abs().sum().item<double>(), 0);
  }
  EXPECT_TRUE(found);
}

TEST(MaskSubTest, DropVariantsNeedAViT) {
  auto cnn = std::make_shared<models::CifarResNetImpl>(8, 1, 5);
  const std::string message = testing::error_message<ConfigError>(
      [&] { masksub(", variant: droppath")->check(*cnn, 32, 32); });
  EXPECT_NE(message.find("variant"), std::string::npos) << message;
  const std::string cell =
      testing::error_message<ConfigError>([&] { masksub(", cell: 32")->check(*cnn, 28, 28); });
  EXPECT_NE(cell.find("cell"), std::string::npos) << cell;
}

TEST(MaskSubTest, TrainsAndLogsBothLosses) {
  testing::TempDir dir;
  config::Node root = config::Node::map();
  for (const char* s :
       {"data.train.limit=600", "data.val.limit=200", "data.loader.batch_size=50", "train.epochs=1",
        "threads=2", "objective.name=masksub", "objective.cell=4"}) {
    config::apply_override(root, s);
  }
  train::RunOptions run;
  run.run_dir = dir.path().string();
  const auto summary =
      train::run_training(config::Config::from_node(root, train::recipe_schema()), run);
  EXPECT_EQ(summary.epochs_done, 1);
  std::ifstream metrics(dir.file("metrics.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  EXPECT_NE(line.find("\"train_loss_main\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"train_loss_sub\""), std::string::npos) << line;
}

}  // namespace
}  // namespace augcore::objective

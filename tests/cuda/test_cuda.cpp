// Tests that need a CUDA device (ctest label `cuda`): each compares the GPU against the CPU or
// checks a GPU-only path. Without a visible device every test is skipped with the reason.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include "augcore/augment/policy_registry.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/pth.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/loader.h"
#include "augcore/models/classifier.h"
#include "augcore/models/mae.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/state/amp.h"
#include "augcore/train/state/optimizer_registry.h"
#include "support/fixtures.h"

namespace augcore {
namespace {

const c10::Device kCuda(c10::kCUDA, 0);

// Exact float32 arithmetic on the GPU (no TF32 matmuls or convolutions), for comparisons.
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!compat::cuda_available()) {
      GTEST_SKIP() << (AUGCORE_WITH_CUDA ? "no CUDA device is visible"
                                         : "this build has no CUDA support (Debian's LibTorch)");
    }
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
};

config::Config component_config(const std::string& yaml) {
  config::Schema schema;
  schema.add_component("model", "model", "resnet18", "model");
  schema.add_component_list("policies", "policy", "policies");
  return config::Config::from_node(config::parse_yaml(yaml, "cuda test"), schema);
}

std::shared_ptr<models::ClassifierImpl> make_model(const std::string& spec, std::int64_t side) {
  static std::vector<config::Config> keep;
  keep.push_back(component_config("model: " + spec + "\n"));
  return models::make_model(keep.back().root().component("model"), {3, 10, side});
}

// A second model with the first one's weights and buffers, on `device`.
std::shared_ptr<models::ClassifierImpl> copy_to(const models::ClassifierImpl& from,
                                                const std::string& spec, std::int64_t side,
                                                c10::Device device) {
  auto to = make_model(spec, side);
  const auto r = models::load_state_dict(*to, models::state_dict_ivalue(from), true);
  EXPECT_TRUE(r.ok()) << r.describe();
  to->to(device);
  return to;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.cpu().to(at::kFloat) - b.cpu().to(at::kFloat)).abs().max().item<double>();
}

TEST_F(CudaTest, ModelsGiveTheCpuLogitsOnTheGpu) {
  for (const std::string spec :
       {"{name: resnet20}", "{name: resnet18}",
        "{name: vit, patch_size: 4, embed_dim: 64, depth: 2, num_heads: 4}",
        "{name: vit, patch_size: 4, embed_dim: 64, depth: 2, num_heads: 4, global_pool: avg}",
        "{name: swin, patch_size: 2, embed_dim: 16, depths: [2, 2], num_heads: [2, 2], "
        "window_size: 4}",
        "{name: shake_shake, depth: 8, widen: 1}",
        "{name: pyramidnet_shakedrop, depth: 11, alpha: 12}"}) {
    at::manual_seed(0);
    auto cpu = make_model(spec, 32);
    cpu->eval();
    auto gpu = copy_to(*cpu, spec, 32, kCuda);
    gpu->eval();
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({4, 3, 32, 32});
    const at::Tensor want = cpu->forward(x);
    EXPECT_LE(max_diff(gpu->forward(x.to(kCuda)), want),
              1e-4 * (1 + want.abs().max().item<double>()))
        << spec;
  }
}

// Every batch policy, built for the GPU and for the CPU, given the same CPU generator and the
// same images: the same result. Interpolating ops and saliency maps come from different kernels,
// so pixels are compared with a tolerance and saliency-chosen regions may move on near-ties.
TEST_F(CudaTest, BatchPoliciesGiveTheCpuResultOnTheGpu) {
  testing::TempDir dir;
  at::manual_seed(1);
  models::MaeConfig mae_config = models::mae_preset("mae_tiny_patch4_32");
  models::MaskedAutoencoder mae(mae_config);
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(*mae));
  pth::save(ckpt, dir.file("mae.pt"));
  const std::string classifier = "{name: resnet20}";
  auto cpu_model = make_model(classifier, 32);
  auto gpu_model = copy_to(*cpu_model, classifier, 32, kCuda);
  const at::Tensor images = at::rand({6, 3, 32, 32});
  const at::Tensor labels = at::arange(6) % 10;
  const std::vector<std::pair<std::string, double>> policies{
      {"cutout", 0},
      {"random_erasing", 0},
      {"mixup", 0},
      {"cutmix", 0},
      {"mix", 0},
      {"three_augment", 0.02},
      {"autoaugment", 0.02},
      {"randaugment", 0.02},
      {"trivialaugment", 0.02},
      {"keep_cutout", 0.05},
      {"keep_random_erasing", 0.05},
      {"keep_cutmix", 0.05},
      {"keep_autoaugment", 0.05},
      {"keep_randaugment", 0.05},
      {"mra, checkpoint: " + dir.file("mae.pt") + ", preset: mae_tiny_patch4_32", 0.05}};
  for (const auto& [spec, moved_fraction] : policies) {
    const auto config = component_config("policies: [{name: " + spec + "}]\n");
    std::vector<at::Tensor> out_images, out_targets;
    for (const auto& [device, model] :
         {std::pair{c10::Device(c10::kCPU), cpu_model}, std::pair{kCuda, gpu_model}}) {
      augment::PolicySetup setup;
      setup.device = device;
      setup.height = setup.width = 32;
      setup.num_classes = 10;
      setup.model = model.get();
      auto built = augment::make_policies(config.root().components("policies"), setup);
      augment::PolicyBatch batch{images.to(device), labels.to(device), 10};
      augment::StepContext context{augment::step_generator(7, 0, 3), 0, 3, model.get()};
      for (auto& p : built)
        p->apply(batch, context);
      EXPECT_EQ(batch.images.device(), device) << spec;
      out_images.push_back(batch.images.cpu());
      out_targets.push_back(batch.targets.cpu());
    }
    const at::Tensor differs = (out_images[0] - out_images[1]).abs().gt(1e-4);
    EXPECT_LE(differs.to(at::kFloat).mean().item<double>(), moved_fraction) << spec;
    EXPECT_LE(max_diff(out_targets[0], out_targets[1]), 1e-5) << spec;
  }
}

// A few optimizer steps on one batch under autocast: finite losses that go down.
double loss_after_steps(at::ScalarType dtype, int steps) {
  at::manual_seed(2);
  auto model = make_model("{name: resnet20}", 32);
  model->to(kCuda);
  model->train();
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  std::unique_ptr<train::LossScaler> scaler;
  if (dtype == at::kHalf) scaler = std::make_unique<train::LossScaler>();
  const at::Tensor x = at::randn({16, 3, 32, 32}, at::TensorOptions().device(kCuda));
  const at::Tensor y = (at::arange(16) % 10).to(kCuda);
  double first = 0, last = 0;
  for (int i = 0; i < steps; ++i) {
    at::Tensor loss;
    {
      train::AutocastGuard autocast(true, dtype);
      const at::Tensor logits = model->forward(x);
      EXPECT_EQ(logits.scalar_type(), dtype);
      loss = at::cross_entropy_loss(logits.to(at::kFloat), y);
    }
    sgd.zero_grad();
    (scaler ? scaler->scale(loss) : loss).backward();
    const bool finite = !scaler || scaler->unscale(model->parameters());
    if (finite) sgd.step();
    if (scaler) scaler->update(finite);
    const double value = loss.item<double>();
    EXPECT_TRUE(std::isfinite(value));
    if (i == 0) first = value;
    last = value;
  }
  return last / first;
}

TEST_F(CudaTest, LambWithLayerDecayStepsAsOnTheCpu) {
  const std::string spec = "{name: vit, patch_size: 4, embed_dim: 64, depth: 2, num_heads: 4}";
  at::manual_seed(2);
  auto cpu = make_model(spec, 32);
  auto gpu = copy_to(*cpu, spec, 32, kCuda);
  static std::vector<config::Config> keep;
  config::Schema schema;
  schema.add_component("optimizer", "optimizer", "lamb", "optimizer");
  keep.push_back(config::Config::from_node(
      config::parse_yaml("optimizer: {name: lamb, weight_decay: 0.05, layer_decay: 0.75}\n", "t"),
      schema));
  auto cpu_opt = train::make_optimizer(keep.back().root().component("optimizer"), *cpu, 1e-3);
  auto gpu_opt = train::make_optimizer(keep.back().root().component("optimizer"), *gpu, 1e-3);
  const at::Tensor x = at::randn({8, 3, 32, 32}), y = at::arange(8) % 10;
  for (int step = 0; step < 3; ++step) {
    for (auto [model, opt, device] : {std::tuple{cpu, cpu_opt.get(), c10::Device(c10::kCPU)},
                                      std::tuple{gpu, gpu_opt.get(), kCuda}}) {
      opt->zero_grad();
      at::cross_entropy_loss(model->forward(x.to(device)), y.to(device)).backward();
      opt->step();
    }
  }
  const auto gpu_params = gpu->named_parameters();
  for (const auto& p : cpu->named_parameters())
    EXPECT_LE(max_diff(*gpu_params.find(p.key()), p.value()), 1e-4) << p.key();
}

TEST_F(CudaTest, AmpBf16AndFp16WithTheLossScalerTrain) {
  EXPECT_LT(loss_after_steps(at::kBFloat16, 8), 0.9);
  EXPECT_LT(loss_after_steps(at::kHalf, 8), 0.9);
}

TEST_F(CudaTest, ChannelsLastStepEqualsContiguousStep) {
  at::manual_seed(3);
  auto reference = make_model("{name: resnet18}", 32);
  const at::Tensor x = at::randn({8, 3, 32, 32});
  const at::Tensor y = at::arange(8) % 10;
  std::vector<std::shared_ptr<models::ClassifierImpl>> models;
  for (const bool channels_last : {false, true}) {
    auto m = copy_to(*reference, "{name: resnet18}", 32, kCuda);
    m->train();
    at::Tensor input = x.to(kCuda);
    if (channels_last) {
      at::NoGradGuard no_grad;
      for (auto& p : m->parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
      input = input.contiguous(at::MemoryFormat::ChannelsLast);
    }
    torch::optim::SGD sgd(m->parameters(), torch::optim::SGDOptions(0.1));
    sgd.zero_grad();
    at::cross_entropy_loss(m->forward(input), y.to(kCuda)).backward();
    sgd.step();
    models.push_back(m);
  }
  const auto a = models[0]->parameters(), b = models[1]->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_LE(max_diff(a[i], b[i]), 1e-4) << "parameter " << i;
  models[0]->eval();
  models[1]->eval();
  at::NoGradGuard no_grad;
  EXPECT_LE(max_diff(models[0]->forward(x.to(kCuda)),
                     models[1]->forward(x.to(kCuda).contiguous(at::MemoryFormat::ChannelsLast))),
            1e-3);
}

TEST_F(CudaTest, PinnedLoaderBatchesReachTheGpu) {
  auto dataset = std::make_shared<testing::MemoryDataset>(40, 8, 8, 3, 4);
  data::LoaderOptions options;
  options.batch_size = 16;
  options.workers = 2;
  options.pin_memory = true;
  data::Loader loader(dataset, data::TransformPipeline{}, options);
  loader.start_epoch(0);
  int batches = 0;
  while (auto b = loader.next()) {
    EXPECT_TRUE(b->images.is_pinned());
    EXPECT_TRUE(b->labels.is_pinned());
    const at::Tensor on_gpu = b->images.to(kCuda, /*non_blocking=*/true);
    const at::Tensor labels = b->labels.to(kCuda, /*non_blocking=*/true);
    EXPECT_TRUE(at::equal(on_gpu.cpu(), b->images));
    EXPECT_TRUE(at::equal(labels.cpu(), b->labels));
    ++batches;
  }
  EXPECT_EQ(batches, 3);
}

}  // namespace
}  // namespace augcore

// The C++ side of the Python bindings' equality tests: runs every bound policy, KeepAugment's
// saliency, MRA and MaskSub through the C++ library on fixed inputs and seeds, and writes
// inputs, outputs and model weights to a torch.save file for tests/python/test_bindings.py.
//   augcore_parity_reference OUT_DIR   (writes OUT_DIR/reference.pth and two MAE checkpoints)
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdio>
#include <string>

#include "augcore/augcore.h"
#include "augcore/core/pth.h"
#include "augcore/models/state_dict.h"

namespace {

using namespace augcore;
using namespace augcore::augment;

at::Generator seeded(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

// A logits model of any input size; the Python side rebuilds it as nn.Sequential(Conv2d(3, 8,
// 3, padding=1), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(8, 10)).
struct SmallNetImpl : torch::nn::Module {
  SmallNetImpl()
      : conv(register_module("conv",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)))),
        linear(register_module("linear", torch::nn::Linear(8, 10))) {}
  at::Tensor forward(const at::Tensor& x) {
    return linear(at::adaptive_avg_pool2d(at::relu(conv(x)), {1, 1}).flatten(1));
  }
  torch::nn::Conv2d conv;
  torch::nn::Linear linear;
};
TORCH_MODULE(SmallNet);

at::Tensor boxes_tensor(const Boxes& b) {
  return at::stack({b.y0, b.y1, b.x0, b.x1});
}

int run(const std::string& out) {
  at::set_num_threads(1);
  auto result = pth::new_dict();
  const at::Tensor images = at::rand({6, 3, 16, 16}, seeded(1));
  const at::Tensor labels = at::randint(10, {6}, seeded(2));
  result.insert("images", images);
  result.insert("labels", labels);
  const std::uint64_t seed = 7;
  auto image_case = [&](const std::string& name, const auto& policy) {
    result.insert(name, policy(images, seeded(seed)));
  };
  auto batch_case = [&](const std::string& name, const auto& policy) {
    const Batch out_batch = policy(Batch{images, labels}, seeded(seed));
    result.insert(name + ".images", out_batch.images);
    result.insert(name + ".targets", out_batch.targets);
  };
  image_case("cutout", Cutout(CutoutOptions(6).p(0.7).fill({0.1, 0.2, 0.3})));
  image_case("cutout_max_fraction", Cutout(CutoutOptions(1).max_fraction(0.5)));
  image_case("random_erasing", RandomErasing(RandomErasingOptions()
                                                 .p(0.8)
                                                 .mode(ErasingMode::kPixel)
                                                 .count({1, 3})
                                                 .mean({0.4})
                                                 .std({0.2})));
  batch_case("mixup", Mixup(MixupOptions(10).alpha(0.4).mode(MixMode::kElem).label_smoothing(0.1)));
  batch_case("cutmix", CutMix(MixupOptions(10).p(0.9)));
  batch_case("mixup_or_cutmix", MixupOrCutMix(MixupOrCutMixOptions(10)));
  image_case("autoaugment", AutoAugment(AutoAugmentOptions()
                                            .policy("cifar10")
                                            .interpolation(ops::Interpolation::kBilinear)
                                            .fill({0.2})));
  image_case("randaugment", RandAugment());
  image_case("trivialaugment", TrivialAugment());
  image_case("fixmatch_randaugment", FixMatchRandAugment());
  image_case("three_augment", ThreeAugment());

  // KeepAugment with the gradient saliency of a small network.
  torch::manual_seed(3);
  SmallNet model;
  for (const auto& [name, tensor] : models::state_dict(*model))
    result.insert("net." + name, tensor);
  const auto saliency_options = SaliencyOptions().mean({0.4}).std({0.3});
  const SaliencyFn saliency = gradient_saliency_of(model, saliency_options);
  const SaliencyFn low_res = gradient_saliency_of(
      model, SaliencyOptions(saliency_options).method(SaliencyMethod::kLowRes));
  result.insert("saliency", saliency(images, labels));
  result.insert("saliency_predicted", saliency(images, at::Tensor()));
  result.insert("saliency_low_res", low_res(images, labels));
  const auto keep = KeepOptions().quantile(0.5);
  auto keep_case = [&](const std::string& name, const auto& policy) {
    result.insert(name, policy(Batch{images, labels}, seeded(seed)).images);
  };
  keep_case("keep_cutout", KeepCutout(CutoutOptions(6), saliency, keep));
  keep_case("keep_random_erasing", KeepRandomErasing(RandomErasingOptions().p(1), saliency,
                                                     KeepOptions().mean_score(true)));
  keep_case("keep_autoaugment", KeepAutoAugment(AutoAugmentOptions(), 8, saliency, keep));
  keep_case("keep_randaugment", KeepRandAugment(RandAugmentOptions(), 8, low_res, keep));
  const Batch mixed =
      KeepCutMix(MixupOptions(10), saliency, keep)(Batch{images, labels}, seeded(seed));
  result.insert("keep_cutmix.images", mixed.images);
  result.insert("keep_cutmix.targets", mixed.targets);
  const Boxes given_map = KeepCutout(CutoutOptions(5), saliency, keep)
                              .sample(images, labels, seeded(seed), images.mean(1));
  result.insert("keep_cutout_given_map.boxes", boxes_tensor(given_map));

  // MaskSub around the same network, cells of 8 px on 16 px images.
  const objective::MaskSub masksub(objective::MaskSubOptions().cell(8).ratio(0.5),
                                   [](const at::Tensor& logits, const at::Tensor& targets) {
                                     return at::cross_entropy_loss(logits, targets);
                                   });
  objective::MaskSubModel sub_model;
  sub_model.forward = [&](const at::Tensor& x) { return model->forward(x); };
  const auto loss = masksub(sub_model, images, labels, seeded(seed));
  loss.to_backward.backward();
  result.insert("masksub.loss", loss.loss.detach());
  result.insert("masksub.main_loss", loss.main_loss);
  result.insert("masksub.sub_loss", loss.sub_loss);
  result.insert("masksub.conv_grad", model->conv->weight.grad());

  // MRA from a freshly initialised MAE saved in both checkpoint formats.
  torch::manual_seed(4);
  models::MaeConfig config = models::mae_preset("mae_tiny_patch4_28");
  config.in_chans = 1;
  models::MaskedAutoencoder mae(config);
  auto augcore_ckpt = pth::new_dict();
  augcore_ckpt.insert("preset", std::string("mae_tiny_patch4_28"));
  augcore_ckpt.insert("mean", c10::List<double>({0.3}));
  augcore_ckpt.insert("std", c10::List<double>({0.35}));
  augcore_ckpt.insert("model", models::state_dict_ivalue(*mae));
  pth::save(augcore_ckpt, out + "/mae_augcore.pt");
  auto official_ckpt = pth::new_dict();
  official_ckpt.insert("model", models::state_dict_ivalue(*mae));
  pth::save(official_ckpt, out + "/mae_official.pth");
  const at::Tensor gray = at::rand({5, 1, 28, 28}, seeded(5));
  result.insert("mra.images", gray);
  const auto patches_options =
      MraOptions().attention(AttentionReading::kPatches).mask_ratio(0.5).p(0.8);
  result.insert("mra.patches", load_mra_augmentor(out + "/mae_augcore.pt", config, patches_options)
                                   ->forward(gray, seeded(seed)));
  const auto random_options = MraOptions().mode(MaskMode::kRandom).mean({0.5}).std({0.5});
  result.insert("mra.official_random",
                load_mra_augmentor(out + "/mae_official.pth", config, random_options)
                    ->forward(gray, seeded(seed)));
  pth::save(result, out + "/reference.pth");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: augcore_parity_reference OUT_DIR\n");
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "augcore_parity_reference: %s\n", e.what());
    return 1;
  }
}

// One policy in ten lines: KeepCutout on a batch, saliency from a model of your own.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/linear.h>

#include <augcore/augcore.h>

#include <iostream>

int main() {
  using namespace augcore::augment;
  torch::nn::Linear model(28 * 28, 10);  // any module whose forward(x) returns logits
  const SaliencyFn saliency =
      gradient_saliency([&](const at::Tensor& x) { return model->forward(x.flatten(1)); },
                        SaliencyOptions().mean({0.286}).std({0.353}));
  const KeepCutout keep_cutout(CutoutOptions(12).fill({0.286}), saliency);
  const Batch batch{at::rand({8, 1, 28, 28}), at::randint(10, {8}, at::kLong)};
  const Batch out = keep_cutout(batch, at::make_generator<at::CPUGeneratorImpl>(0));
  std::cout << "single_policy: erased " << out.images.ne(batch.images).sum().item<std::int64_t>()
            << " pixels of " << batch.images.numel() << "\n";
}

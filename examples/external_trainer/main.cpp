// A trainer outside augcore: its own model, its own SGD loop, no YAML. It uses libaugcore's
// three methods through the installed package: MRA (an augmentor it pretrains here for a hundred
// steps with augcore's MAE), KeepCutMix (saliency from its own model) and MaskSub (around its
// own forward). Prints the loss falling over a few hundred Fashion-MNIST steps.
//   external_trainer [FASHION_MNIST_DIR] [STEPS]
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <augcore/augcore.h>
#include <augcore/data/idx.h>

#include <cstdio>
#include <iostream>
#include <string>

namespace {

// The user's classifier: two conv-BN-ReLU stages, global pooling, a linear head.
struct NetImpl : torch::nn::Module {
  NetImpl()
      : conv1(register_module("conv1",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(16))),
        conv2(register_module(
            "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1).stride(2)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(32))),
        fc(register_module("fc", torch::nn::Linear(32, 10))) {}
  at::Tensor forward(const at::Tensor& x) {
    const at::Tensor h = at::relu(bn2(conv2(at::relu(bn1(conv1(x))))));
    return fc(h.mean({2, 3}));
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  torch::nn::Linear fc;
};
TORCH_MODULE(Net);

at::Tensor soft_ce(const at::Tensor& logits, const at::Tensor& targets) {
  const at::Tensor t =
      targets.dim() == 1 ? at::one_hot(targets, logits.size(1)).to(at::kFloat) : targets;
  return -(t * at::log_softmax(logits, 1)).sum(1).mean();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace augcore;
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int steps = argc > 2 ? std::stoi(argv[2]) : 200;
  try {
    at::set_num_threads(2);
    at::manual_seed(0);
    auto images_idx = data::read_idx_file(dir + "/train-images-idx3-ubyte.gz");
    auto labels_idx = data::read_idx_file(dir + "/train-labels-idx1-ubyte.gz");
    auto bytes = [](data::IdxArray& a) {
      return at::from_blob(a.data.data(), {static_cast<std::int64_t>(a.data.size())}, at::kByte);
    };
    const at::Tensor images = bytes(images_idx).view({-1, 1, 28, 28}).to(at::kFloat).div_(255);
    const at::Tensor labels = bytes(labels_idx).to(at::kLong);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(42);
    const std::int64_t batch = 32;
    auto next_batch = [&] {
      const at::Tensor idx = at::randint(images.size(0), {batch}, gen, at::kLong);
      return augment::Batch{images.index_select(0, idx), labels.index_select(0, idx)};
    };

    // 1. A small MRA augmentor, pretrained here for a few steps (mae_pretrain does it properly).
    models::MaeConfig mae_config = models::mae_preset("mae_tiny_patch4_28");
    mae_config.in_chans = 1;
    models::MaskedAutoencoder mae(mae_config);
    torch::optim::AdamW mae_opt(mae->parameters(), torch::optim::AdamWOptions(1e-3));
    for (int s = 0; s < 100; ++s) {
      const at::Tensor x = (next_batch().images - 0.5) / 0.25;
      auto [encoded, masking] = mae->forward_encoder(x, at::rand({batch, 49}, gen), 12);
      const at::Tensor loss =
          mae->loss(x, mae->forward_decoder(encoded, masking.ids_restore, 28, 28), masking.mask);
      mae_opt.zero_grad();
      loss.backward();
      mae_opt.step();
    }
    augment::MraAugmentor mra(mae, augment::MraOptions()
                                       .mask_ratio(0.4)
                                       .attention(augment::AttentionReading::kPatches)
                                       .p(0.5)
                                       .mean({0.5})
                                       .std({0.25}));

    // 2. The user's classifier, trained with MRA + KeepCutMix + MaskSub in the user's loop.
    Net net;
    const auto saliency =
        augment::gradient_saliency_of(net, augment::SaliencyOptions().mean({0.5}).std({0.25}));
    const augment::KeepCutMix keep_cutmix(augment::CutMixOptions(10).p(0.5), saliency);
    const objective::MaskSub masksub(objective::MaskSubOptions().ratio(0.5).cell(7), soft_ce);
    objective::MaskSubModel sub_model;
    sub_model.forward = [&](const at::Tensor& x) { return net->forward(x); };
    torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    double window = 0, first = -1;
    for (int step = 1; step <= steps; ++step) {
      augment::Batch b = next_batch();
      b.images = mra(b.images, gen);
      b = keep_cutmix(b, gen);
      const at::Tensor x = (b.images - 0.5) / 0.25;
      const auto loss = masksub(sub_model, x, b.targets, gen);
      opt.zero_grad();
      loss.to_backward.backward();
      opt.step();
      window += loss.main_loss.item<double>();
      if (step % 50 == 0) {
        const double mean = window / 50;
        std::printf("external_trainer: step %d  main loss %.3f  sub loss %.3f\n", step, mean,
                    loss.sub_loss.item<double>());
        std::fflush(stdout);
        if (first < 0) first = mean;
        if (step + 50 > steps && mean >= first) {
          std::cerr << "external_trainer: the loss did not fall (" << first << " -> " << mean
                    << ")\n";
          return 1;
        }
        window = 0;
      }
    }
    return 0;
  } catch (const UsageError& e) {
    std::cerr << e.category() << ": " << e.what() << "\n";
    return kUsageExitCode;
  }
}

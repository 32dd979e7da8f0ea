#include "augcore/models/small_resnets.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "augcore/core/error.h"
#include "augcore/models/blocks.h"
#include "augcore/models/model_registry.h"

namespace augcore::models {
namespace {

torch::nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, int stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

void zero_linear_bias(torch::nn::Linear& fc) {
  torch::NoGradGuard no_grad;
  fc->bias.zero_();
}

}  // namespace

CifarResNetImpl::CifarResNetImpl(int depth, std::int64_t in_chans, std::int64_t num_classes)
    : num_classes_(num_classes) {
  if (depth < 8 || (depth - 2) % 6 != 0) {
    throw std::invalid_argument("CIFAR ResNet depth must be 6n+2");
  }
  const int n = (depth - 2) / 6;
  conv1 = register_module("conv1", conv3x3(in_chans, 16, 1));
  bn1 = register_module("bn1", BatchNorm2d(16));
  int inplanes = 16;
  auto stage = [&](int planes, int stride) {
    torch::nn::Sequential s;
    for (int i = 0; i < n; ++i) {
      const bool project = i == 0 && (stride != 1 || inplanes != planes);
      s->push_back(BasicBlock(inplanes, planes, i == 0 ? stride : 1, project));
      inplanes = planes;
    }
    return s;
  };
  layer1 = register_module("layer1", stage(16, 1));
  layer2 = register_module("layer2", stage(32, 2));
  layer3 = register_module("layer3", stage(64, 2));
  fc = register_module("fc", torch::nn::Linear(64, num_classes));
  init_conv_bn(*this);
  zero_linear_bias(fc);
}

at::Tensor CifarResNetImpl::first_stage(const at::Tensor& x) {
  return layer1->forward(bn1->forward(conv1->forward(x)).relu_());
}

std::int64_t CifarResNetImpl::first_stage_channels() const {
  return 16;
}

at::Tensor CifarResNetImpl::forward(const at::Tensor& x) {
  return after_first_stage(first_stage(x));
}

at::Tensor CifarResNetImpl::after_first_stage(const at::Tensor& features) {
  return fc->forward(pooled(features));
}

at::Tensor CifarResNetImpl::features(const at::Tensor& x) {
  return pooled(first_stage(x));
}

at::Tensor CifarResNetImpl::pooled(const at::Tensor& first_stage_features) {
  const at::Tensor y = layer3->forward(layer2->forward(first_stage_features));
  return at::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

PreActBlockImpl::PreActBlockImpl(int in, int out, int stride, double dropout) : dropout_(dropout) {
  bn1 = register_module("bn1", BatchNorm2d(in));
  conv1 = register_module("conv1", conv3x3(in, out, stride));
  bn2 = register_module("bn2", BatchNorm2d(out));
  conv2 = register_module("conv2", conv3x3(out, out, 1));
  if (stride != 1 || in != out) {
    shortcut = register_module(
        "shortcut",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
  }
}

at::Tensor PreActBlockImpl::forward(const at::Tensor& x) {
  const at::Tensor a = bn1->forward(x).relu_();
  const at::Tensor identity = shortcut ? shortcut->forward(a) : x;
  at::Tensor y = conv1->forward(a);
  y = bn2->forward(y).relu_();
  if (dropout_ > 0) y = at::dropout(y, dropout_, is_training());
  return conv2->forward(y) + identity;
}

PreActResNetImpl::PreActResNetImpl(int stem_channels, std::vector<int> widths,
                                   std::vector<int> blocks, double dropout, std::int64_t in_chans,
                                   std::int64_t num_classes)
    : num_classes_(num_classes), first_stage_channels_(widths.at(0)) {
  conv1 = register_module("conv1", conv3x3(in_chans, stem_channels, 1));
  int in = stem_channels;
  for (std::size_t s = 0; s < widths.size(); ++s) {
    torch::nn::Sequential stage;
    for (int i = 0; i < blocks[s]; ++i) {
      stage->push_back(PreActBlock(in, widths[s], i == 0 && s > 0 ? 2 : 1, dropout));
      in = widths[s];
    }
    layers_.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  bn = register_module("bn", BatchNorm2d(in));
  fc = register_module("fc", torch::nn::Linear(in, num_classes));
  init_conv_bn(*this);
  zero_linear_bias(fc);
}

at::Tensor PreActResNetImpl::first_stage(const at::Tensor& x) {
  return layers_.front()->forward(conv1->forward(x));
}

std::int64_t PreActResNetImpl::first_stage_channels() const {
  return first_stage_channels_;
}

at::Tensor PreActResNetImpl::forward(const at::Tensor& x) {
  return after_first_stage(first_stage(x));
}

at::Tensor PreActResNetImpl::after_first_stage(const at::Tensor& features) {
  return fc->forward(pooled(features));
}

at::Tensor PreActResNetImpl::features(const at::Tensor& x) {
  return pooled(first_stage(x));
}

at::Tensor PreActResNetImpl::pooled(const at::Tensor& first_stage_features) {
  at::Tensor y = first_stage_features;
  for (std::size_t s = 1; s < layers_.size(); ++s)
    y = layers_[s]->forward(y);
  y = bn->forward(y).relu_();
  return at::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

namespace {

bool register_cifar(int depth) {
  const std::string name = "resnet" + std::to_string(depth);
  return register_model(
      name, "CIFAR ResNet-" + std::to_string(depth) + " (16/32/64 channels, 3x3 stem)",
      config::Schema(), [depth](const config::Options&, const ModelShape& s) {
        return std::make_shared<CifarResNetImpl>(depth, s.in_chans, s.num_classes);
      });
}

config::Schema wrn_options() {
  config::Schema s;
  s.add_int("depth", 28, "total depth, 6n+4").range(10, 1000);
  s.add_int("width", 10, "width multiplier k").range(1, 64);
  s.add_float("dropout", 0.0, "dropout between the convolutions of a block").range(0, 1);
  return s;
}

const bool registered =
    register_cifar(20) && register_cifar(32) && register_cifar(44) && register_cifar(56) &&
    register_cifar(110) &&
    register_model("preact_resnet18", "PreAct ResNet-18 (3x3 stem, no max-pool)", config::Schema(),
                   [](const config::Options&, const ModelShape& s) {
                     return std::make_shared<PreActResNetImpl>(
                         64, std::vector<int>{64, 128, 256, 512}, std::vector<int>{2, 2, 2, 2}, 0.0,
                         s.in_chans, s.num_classes);
                   }) &&
    register_model(
        "wide_resnet", "Wide ResNet WRN-depth-width (e.g. WRN-28-10)", wrn_options(),
        [](const config::Options& o, const ModelShape& s) {
          const auto depth = o.integer("depth");
          if ((depth - 4) % 6 != 0) {
            throw ConfigError(o.path() + ".depth: a Wide ResNet's depth must be 6n+4, got " +
                              std::to_string(depth));
          }
          const int n = static_cast<int>((depth - 4) / 6);
          const int k = static_cast<int>(o.integer("width"));
          return std::make_shared<PreActResNetImpl>(16, std::vector<int>{16 * k, 32 * k, 64 * k},
                                                    std::vector<int>{n, n, n}, o.real("dropout"),
                                                    s.in_chans, s.num_classes);
        });

}  // namespace
}  // namespace augcore::models

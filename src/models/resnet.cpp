#include "augcore/models/resnet.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

#include "augcore/models/blocks.h"
#include "augcore/models/model_registry.h"

namespace augcore::models {

ResNetConfig resnet_preset(const std::string& name) {
  ResNetConfig c;
  if (name == "resnet18") {
    c.layers = {2, 2, 2, 2};
  } else if (name == "resnet34") {
    c.layers = {3, 4, 6, 3};
  } else if (name == "resnet50") {
    c.bottleneck = true;
    c.layers = {3, 4, 6, 3};
  } else if (name == "resnet101") {
    c.bottleneck = true;
    c.layers = {3, 4, 23, 3};
  } else if (name == "resnet152") {
    c.bottleneck = true;
    c.layers = {3, 8, 36, 3};
  } else if (name == "resnext50_32x4d") {
    c.bottleneck = true;
    c.layers = {3, 4, 6, 3};
    c.groups = 32;
    c.width_per_group = 4;
  } else if (name == "wide_resnet50_2") {
    c.bottleneck = true;
    c.layers = {3, 4, 6, 3};
    c.width_per_group = 128;
  } else {
    throw std::invalid_argument("no ResNet preset '" + name + "'");
  }
  return c;
}

ResNetImpl::ResNetImpl(const ResNetConfig& config)
    : config_(config), num_classes_(config.num_classes) {
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(config.in_chans, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", BatchNorm2d(64));
  layer1 = register_module("layer1", make_layer(64, config.layers[0], 1));
  layer2 = register_module("layer2", make_layer(128, config.layers[1], 2));
  layer3 = register_module("layer3", make_layer(256, config.layers[2], 2));
  layer4 = register_module("layer4", make_layer(512, config.layers[3], 2));
  const int expansion = config.bottleneck ? 4 : 1;
  fc = register_module("fc", torch::nn::Linear(512 * expansion, config.num_classes));
  init_conv_bn(*this);
  if (config.zero_init_residual) zero_last_bn_of_blocks(*this);
  // timm's rates: drop_path × block index / (blocks − 1), over all blocks in order.
  const int blocks = config.layers[0] + config.layers[1] + config.layers[2] + config.layers[3];
  int k = 0;
  for (auto& m : modules(/*include_self=*/false)) {
    const double rate = blocks > 1 ? config.drop_path * k / (blocks - 1) : 0.0;
    if (auto* b = m->as<BasicBlock>()) {
      b->drop_path = rate;
      ++k;
    } else if (auto* b = m->as<Bottleneck>()) {
      b->drop_path = rate;
      ++k;
    }
  }
}

torch::nn::Sequential ResNetImpl::make_layer(int planes, int blocks, int stride) {
  const int expansion = config_.bottleneck ? 4 : 1;
  torch::nn::Sequential layer;
  for (int i = 0; i < blocks; ++i) {
    const int s = i == 0 ? stride : 1;
    const bool project = i == 0 && (stride != 1 || inplanes_ != planes * expansion);
    if (config_.bottleneck) {
      layer->push_back(
          Bottleneck(inplanes_, planes, s, project, config_.groups, config_.width_per_group));
    } else {
      layer->push_back(BasicBlock(inplanes_, planes, s, project));
    }
    inplanes_ = planes * expansion;
  }
  return layer;
}

at::Tensor ResNetImpl::first_stage(const at::Tensor& x) {
  at::Tensor y = bn1->forward(conv1->forward(x)).relu_();
  y = at::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  return layer1->forward(y);
}

std::int64_t ResNetImpl::first_stage_channels() const {
  return config_.bottleneck ? 256 : 64;
}

at::Tensor ResNetImpl::forward(const at::Tensor& x) {
  return after_first_stage(first_stage(x));
}

at::Tensor ResNetImpl::after_first_stage(const at::Tensor& features) {
  return fc->forward(pooled(features));
}

at::Tensor ResNetImpl::features(const at::Tensor& x) {
  return pooled(first_stage(x));
}

at::Tensor ResNetImpl::pooled(const at::Tensor& first_stage_features) {
  const at::Tensor y = layer4->forward(layer3->forward(layer2->forward(first_stage_features)));
  return at::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

namespace {

config::Schema resnet_options() {
  config::Schema s;
  s.add_bool("zero_init_residual", false, "zero the last BN of each block (torchvision option)");
  s.add_float("drop_path", 0.0, "stochastic depth rate of the last block (linear ramp; timm)")
      .range(0, 1);
  return s;
}

bool register_preset(const std::string& name, const std::string& doc) {
  return register_model(name, doc, resnet_options(),
                        [name](const config::Options& o, const ModelShape& shape) {
                          ResNetConfig c = resnet_preset(name);
                          c.in_chans = shape.in_chans;
                          c.num_classes = shape.num_classes;
                          c.zero_init_residual = o.boolean("zero_init_residual");
                          c.drop_path = o.real("drop_path");
                          return std::make_shared<ResNetImpl>(c);
                        });
}

const bool registered =
    register_preset("resnet18", "ResNet-18 (torchvision names)") &&
    register_preset("resnet34", "ResNet-34 (torchvision names)") &&
    register_preset("resnet50", "ResNet-50 v1.5 (torchvision names)") &&
    register_preset("resnet101", "ResNet-101 (torchvision names)") &&
    register_preset("resnet152", "ResNet-152 (torchvision names)") &&
    register_preset("resnext50_32x4d", "ResNeXt-50 32x4d (torchvision names)") &&
    register_preset("wide_resnet50_2", "Wide ResNet-50-2 (torchvision names)");

}  // namespace
}  // namespace augcore::models

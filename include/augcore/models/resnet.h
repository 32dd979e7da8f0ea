// ResNet family with torchvision's architecture and parameter names (resnet18…152, ResNeXt,
// Wide ResNet-50), loadable from torchvision state_dicts as they are.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include "augcore/models/batch_norm.h"

#include <vector>

#include "augcore/models/classifier.h"

namespace augcore::models {

struct ResNetConfig {
  bool bottleneck = false;
  std::vector<int> layers{2, 2, 2, 2};
  int groups = 1;
  int width_per_group = 64;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;
  bool zero_init_residual = false;
  double drop_path = 0;  // stochastic depth, rising linearly over the blocks to this (timm)
};

class ResNetImpl : public ClassifierImpl {
 public:
  explicit ResNetImpl(const ResNetConfig& config);
  at::Tensor forward(const at::Tensor& x) override;
  at::Tensor first_stage(const at::Tensor& x) override;
  at::Tensor after_first_stage(const at::Tensor& features) override;
  std::int64_t first_stage_channels() const override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "fc"; }
  std::int64_t num_classes() const override { return num_classes_; }

 private:
  torch::nn::Sequential make_layer(int planes, int blocks, int stride);
  // Stages 2-4 and global average pooling: the head's input.
  at::Tensor pooled(const at::Tensor& first_stage_features);
  ResNetConfig config_;
  int inplanes_ = 64;
  std::int64_t num_classes_;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};
};

// torchvision's presets by name ("resnet50", "resnext50_32x4d", ...).
ResNetConfig resnet_preset(const std::string& name);

}  // namespace augcore::models

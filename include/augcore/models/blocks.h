// Residual blocks shared by the ResNet families (torchvision's BasicBlock and Bottleneck) and
// the initialisation torchvision applies to them.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include "augcore/models/batch_norm.h"

namespace augcore::models {

// Stochastic depth: the residual branch `x` dropped per sample with probability p and the
// kept ones scaled by 1/(1 − p), in training only.
at::Tensor drop_path(const at::Tensor& x, double p, bool training);

// conv3x3-bn-relu-conv3x3-bn plus identity (or `downsample`: conv1x1-bn), then relu.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int inplanes, int planes, int stride, bool project);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
  double drop_path = 0;  // stochastic depth of the residual branch (timm's ResNet)
};
TORCH_MODULE(BasicBlock);

// conv1x1-bn-relu-conv3x3(stride, groups)-bn-relu-conv1x1-bn plus identity/downsample, relu
// (ResNet v1.5: the stride sits on the 3x3 convolution).
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int inplanes, int planes, int stride, bool project, int groups, int base_width);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
  double drop_path = 0;  // stochastic depth of the residual branch (timm's ResNet)
};
TORCH_MODULE(Bottleneck);

// torchvision's ResNet init: Kaiming-normal (fan_out, relu) convolutions, BN weight 1, bias 0.
void init_conv_bn(torch::nn::Module& module);
// Zeroes the last BN weight of every residual block (zero_init_residual).
void zero_last_bn_of_blocks(torch::nn::Module& module);

}  // namespace augcore::models

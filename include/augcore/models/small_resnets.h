// ResNets for small (28–64 px) images: CIFAR ResNet-20…110, PreAct ResNet-18, Wide ResNet.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include "augcore/models/batch_norm.h"

#include "augcore/models/classifier.h"

namespace augcore::models {

// He et al. 2016's CIFAR ResNet: 3x3 stem of 16 channels, three stages of (depth-2)/6 basic
// blocks at 16/32/64 channels, projection (1x1 conv + BN) shortcuts where the shape changes.
class CifarResNetImpl : public ClassifierImpl {
 public:
  CifarResNetImpl(int depth, std::int64_t in_chans, std::int64_t num_classes);
  at::Tensor forward(const at::Tensor& x) override;
  at::Tensor first_stage(const at::Tensor& x) override;
  at::Tensor after_first_stage(const at::Tensor& features) override;
  std::int64_t first_stage_channels() const override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "fc"; }
  std::int64_t num_classes() const override { return num_classes_; }

 private:
  // The stages after the first and global average pooling: the head's input.
  at::Tensor pooled(const at::Tensor& first_stage_features);
  std::int64_t num_classes_;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr};
  torch::nn::Linear fc{nullptr};
};

// Pre-activation block: bn-relu-conv twice; a 1x1 conv shortcut from the activated input.
class PreActBlockImpl : public torch::nn::Module {
 public:
  PreActBlockImpl(int in, int out, int stride, double dropout);
  at::Tensor forward(const at::Tensor& x);

 private:
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
  double dropout_;
};
TORCH_MODULE(PreActBlock);

// Pre-activation ResNets with a 3x3 stem and no max-pool: PreAct ResNet-18 (4 stages,
// 64–512 channels) and WRN-depth-width (3 stages of (depth-4)/6 blocks, 16k/32k/64k
// channels, dropout between the convolutions).
class PreActResNetImpl : public ClassifierImpl {
 public:
  PreActResNetImpl(int stem_channels, std::vector<int> widths, std::vector<int> blocks,
                   double dropout, std::int64_t in_chans, std::int64_t num_classes);
  at::Tensor forward(const at::Tensor& x) override;
  at::Tensor first_stage(const at::Tensor& x) override;
  at::Tensor after_first_stage(const at::Tensor& features) override;
  std::int64_t first_stage_channels() const override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "fc"; }
  std::int64_t num_classes() const override { return num_classes_; }

 private:
  // The stages after the first and global average pooling: the head's input.
  at::Tensor pooled(const at::Tensor& first_stage_features);
  std::int64_t num_classes_;
  std::int64_t first_stage_channels_;
  torch::nn::Conv2d conv1{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace augcore::models

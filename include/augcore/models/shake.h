// KeepAugment's CIFAR backbones with stochastic branch scaling: Shake-Shake 26 2×96d (Gastaldi
// 2017) and PyramidNet-272 α200 with ShakeDrop (Yamada et al. 2018), as AutoAugment's code
// builds them (per-image draws; docs/recipes.md lists the choices).
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "augcore/models/batch_norm.h"
#include "augcore/models/classifier.h"

namespace augcore::models {

// x·forward_scale in the forward pass, whose gradient is grad·backward_scale (both broadcast
// against x): the "shake" of both methods.
at::Tensor shake(const at::Tensor& x, const at::Tensor& forward_scale,
                 const at::Tensor& backward_scale);

// relu-conv3x3(stride)-bn-relu-conv3x3-bn: one of a Shake-Shake block's two branches.
class ShakeBranchImpl : public torch::nn::Module {
 public:
  ShakeBranchImpl(std::int64_t in, std::int64_t out, std::int64_t stride);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
};
TORCH_MODULE(ShakeBranch);

// Two branches mixed per image: training, forward weights u₁/(u₁+u₂), u₂/(u₁+u₂) and,
// independently drawn, the same form for the gradient; evaluation, ½ each. The shortcut is the
// identity or, where the width changes, AutoAugment's two shifted 1×1-conv paths + BN.
class ShakeShakeBlockImpl : public torch::nn::Module {
 public:
  ShakeShakeBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride);
  at::Tensor forward(const at::Tensor& x);
  ShakeBranch branch1{nullptr}, branch2{nullptr};
  torch::nn::Conv2d path1{nullptr}, path2{nullptr};
  BatchNorm2d shortcut_bn{nullptr};

 private:
  std::int64_t stride_;
};
TORCH_MODULE(ShakeShakeBlock);

// Shake-Shake-depth (6n+2) with widths 16k, 32k, 64k (2×96d: depth 26, k = 6).
class ShakeShakeImpl : public ClassifierImpl {
 public:
  ShakeShakeImpl(int depth, int widen, std::int64_t in_chans, std::int64_t num_classes);
  at::Tensor forward(const at::Tensor& x) override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "fc"; }
  std::int64_t num_classes() const override { return num_classes_; }

 private:
  std::int64_t num_classes_;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layers{nullptr};
  torch::nn::Linear fc{nullptr};
};

// PyramidNet's bottleneck (bn-conv1x1-bn-relu-conv3x3(stride)-bn-relu-conv1x1-bn) with
// ShakeDrop on the residual: training, per image, kept as is with probability p, else scaled by
// α ~ U(−1, 1) forward and β ~ U(0, 1) backward; evaluation, scaled by p. The shortcut is
// average-pooled where the block strides and zero-padded to the residual's channels.
class ShakeDropBottleneckImpl : public torch::nn::Module {
 public:
  ShakeDropBottleneckImpl(std::int64_t in, std::int64_t planes, std::int64_t stride,
                          double keep_prob);
  at::Tensor forward(const at::Tensor& x);
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, bn4{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  double keep_prob() const { return keep_prob_; }

 private:
  std::int64_t stride_;
  double keep_prob_;
};
TORCH_MODULE(ShakeDropBottleneck);

// Bottleneck PyramidNet-depth (9n+2), widening by α over all blocks, with ShakeDrop whose keep
// probability falls linearly to `p_last` at the last block (272, α 200, 0.5 in KeepAugment).
class PyramidNetImpl : public ClassifierImpl {
 public:
  PyramidNetImpl(int depth, double alpha, double p_last, std::int64_t in_chans,
                 std::int64_t num_classes);
  at::Tensor forward(const at::Tensor& x) override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "fc"; }
  std::int64_t num_classes() const override { return num_classes_; }

 private:
  std::int64_t num_classes_;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr}, bn_final{nullptr};
  torch::nn::Sequential layers{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace augcore::models

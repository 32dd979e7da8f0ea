#include "augcore/models/shake.h"

#include <ATen/ATen.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/models/blocks.h"
#include "augcore/models/model_registry.h"

namespace augcore::models {

namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

at::Tensor per_image_uniform(const at::Tensor& x, double lo, double hi) {
  return at::empty({x.size(0), 1, 1, 1}, x.options()).uniform_(lo, hi);
}

}  // namespace

at::Tensor shake(const at::Tensor& x, const at::Tensor& forward_scale,
                 const at::Tensor& backward_scale) {
  const at::Tensor backward = x * backward_scale;
  return backward + (x * forward_scale - backward).detach();
}

ShakeBranchImpl::ShakeBranchImpl(std::int64_t in, std::int64_t out, std::int64_t stride) {
  conv1 = register_module("conv1", conv(in, out, 3, stride));
  bn1 = register_module("bn1", BatchNorm2d(out));
  conv2 = register_module("conv2", conv(out, out, 3, 1));
  bn2 = register_module("bn2", BatchNorm2d(out));
}

at::Tensor ShakeBranchImpl::forward(const at::Tensor& x) {
  const at::Tensor h = bn1->forward(conv1->forward(at::relu(x))).relu_();
  return bn2->forward(conv2->forward(h));
}

ShakeShakeBlockImpl::ShakeShakeBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride)
    : stride_(stride) {
  branch1 = register_module("branch1", ShakeBranch(in, out, stride));
  branch2 = register_module("branch2", ShakeBranch(in, out, stride));
  if (in != out) {
    path1 = register_module("path1", conv(in, out / 2, 1, 1));
    path2 = register_module("path2", conv(in, out - out / 2, 1, 1));
    shortcut_bn = register_module("shortcut_bn", BatchNorm2d(out));
  }
}

at::Tensor ShakeShakeBlockImpl::forward(const at::Tensor& x) {
  at::Tensor shortcut = x;
  if (path1) {
    // AutoAugment's skip: relu, then 1×1 sampling at the stride of the input and of the input
    // shifted one pixel up-left (zero-filled), each through a 1×1 conv, concatenated, BN.
    const at::Tensor a = at::relu(x);
    const at::Tensor shifted =
        at::constant_pad_nd(a, {0, 1, 0, 1}).narrow(2, 1, a.size(2)).narrow(3, 1, a.size(3));
    const auto sample = [&](const at::Tensor& t) {
      return t.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
    };
    shortcut = shortcut_bn->forward(
        at::cat({path1->forward(sample(a)), path2->forward(sample(shifted))}, 1));
  }
  const at::Tensor b1 = branch1->forward(x), b2 = branch2->forward(x);
  if (!is_training()) return shortcut + 0.5 * (b1 + b2);
  const at::Tensor f1 = per_image_uniform(x, 0, 1), f2 = per_image_uniform(x, 0, 1);
  const at::Tensor g1 = per_image_uniform(x, 0, 1), g2 = per_image_uniform(x, 0, 1);
  return shortcut + shake(b1, f1 / (f1 + f2), g1 / (g1 + g2)) +
         shake(b2, f2 / (f1 + f2), g2 / (g1 + g2));
}

ShakeShakeImpl::ShakeShakeImpl(int depth, int widen, std::int64_t in_chans,
                               std::int64_t num_classes)
    : num_classes_(num_classes) {
  if ((depth - 2) % 6 != 0 || depth < 8) {
    throw ConfigError("model.depth: Shake-Shake's depth must be 6n+2 (n ≥ 1), got " +
                      std::to_string(depth));
  }
  const int n = (depth - 2) / 6;
  conv1 = register_module("conv1", conv(in_chans, 16, 3, 1));
  bn1 = register_module("bn1", BatchNorm2d(16));
  layers = torch::nn::Sequential();
  std::int64_t in = 16;
  for (int s = 0; s < 3; ++s) {
    const std::int64_t out = std::int64_t{16} * widen << s;
    for (int b = 0; b < n; ++b) {
      layers->push_back(ShakeShakeBlock(in, out, b == 0 && s > 0 ? 2 : 1));
      in = out;
    }
  }
  register_module("layers", layers);
  fc = register_module("fc", torch::nn::Linear(in, num_classes));
  init_conv_bn(*this);
}

at::Tensor ShakeShakeImpl::features(const at::Tensor& x) {
  const at::Tensor h = layers->forward(bn1->forward(conv1->forward(x)));
  return at::adaptive_avg_pool2d(at::relu(h), {1, 1}).flatten(1);
}

at::Tensor ShakeShakeImpl::forward(const at::Tensor& x) {
  return fc->forward(features(x));
}

ShakeDropBottleneckImpl::ShakeDropBottleneckImpl(std::int64_t in, std::int64_t planes,
                                                 std::int64_t stride, double keep_prob)
    : stride_(stride), keep_prob_(keep_prob) {
  bn1 = register_module("bn1", BatchNorm2d(in));
  conv1 = register_module("conv1", conv(in, planes, 1, 1));
  bn2 = register_module("bn2", BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride));
  bn3 = register_module("bn3", BatchNorm2d(planes));
  conv3 = register_module("conv3", conv(planes, 4 * planes, 1, 1));
  bn4 = register_module("bn4", BatchNorm2d(4 * planes));
}

at::Tensor ShakeDropBottleneckImpl::forward(const at::Tensor& x) {
  at::Tensor out = conv1->forward(bn1->forward(x));
  out = conv2->forward(bn2->forward(out).relu_());
  out = bn4->forward(conv3->forward(bn3->forward(out).relu_()));
  if (is_training()) {
    const at::Tensor gate = per_image_uniform(out, 0, 1).lt(keep_prob_).to(out.scalar_type());
    const at::Tensor alpha = per_image_uniform(out, -1, 1), beta = per_image_uniform(out, 0, 1);
    out = shake(out, gate + (1 - gate) * alpha, gate + (1 - gate) * beta);
  } else {
    out = out * keep_prob_;
  }
  at::Tensor shortcut =
      stride_ > 1 ? at::avg_pool2d(x, {2, 2}, {2, 2}, {0, 0}, /*ceil_mode=*/true) : x;
  const auto extra = out.size(1) - shortcut.size(1);
  if (extra > 0) shortcut = at::constant_pad_nd(shortcut, {0, 0, 0, 0, 0, extra});
  return out + shortcut;
}

PyramidNetImpl::PyramidNetImpl(int depth, double alpha, double p_last, std::int64_t in_chans,
                               std::int64_t num_classes)
    : num_classes_(num_classes) {
  if ((depth - 2) % 9 != 0 || depth < 11) {
    throw ConfigError("model.depth: a bottleneck PyramidNet's depth must be 9n+2, got " +
                      std::to_string(depth));
  }
  const int n = (depth - 2) / 9;
  const double add = alpha / (3.0 * n);
  conv1 = register_module("conv1", conv(in_chans, 16, 3, 1));
  bn1 = register_module("bn1", BatchNorm2d(16));
  layers = torch::nn::Sequential();
  std::int64_t in = 16;
  double width = 16;
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < n; ++b) {
      width += add;
      const auto planes = static_cast<std::int64_t>(std::round(width));
      const int l = s * n + b + 1;  // 1 … 3n
      const double keep = 1.0 - static_cast<double>(l) / (3 * n) * (1.0 - p_last);
      layers->push_back(ShakeDropBottleneck(in, planes, b == 0 && s > 0 ? 2 : 1, keep));
      in = 4 * planes;
    }
  }
  register_module("layers", layers);
  bn_final = register_module("bn_final", BatchNorm2d(in));
  fc = register_module("fc", torch::nn::Linear(in, num_classes));
  init_conv_bn(*this);
}

at::Tensor PyramidNetImpl::features(const at::Tensor& x) {
  const at::Tensor h = layers->forward(bn1->forward(conv1->forward(x)));
  return at::adaptive_avg_pool2d(bn_final->forward(h).relu_(), {1, 1}).flatten(1);
}

at::Tensor PyramidNetImpl::forward(const at::Tensor& x) {
  return fc->forward(features(x));
}

namespace {

config::Schema shake_shake_options() {
  config::Schema s;
  s.add_int("depth", 26, "total depth, 6n+2").range(8, 1000);
  s.add_int("widen", 6, "width factor k: stages of 16k, 32k, 64k channels (2×96d: 6)").range(1, 64);
  return s;
}

config::Schema pyramidnet_options() {
  config::Schema s;
  s.add_int("depth", 272, "total depth, 9n+2 (bottleneck blocks)").range(11, 2000);
  s.add_float("alpha", 200, "total widening over all blocks").range(0, 10000);
  s.add_float("shakedrop_p", 0.5, "ShakeDrop's keep probability at the last block (1 = off)")
      .range(0, 1);
  return s;
}

const bool registered =
    register_model("shake_shake", "Shake-Shake (2 branches, AutoAugment's CIFAR version)",
                   shake_shake_options(),
                   [](const config::Options& o, const ModelShape& s) {
                     return std::make_shared<ShakeShakeImpl>(static_cast<int>(o.integer("depth")),
                                                             static_cast<int>(o.integer("widen")),
                                                             s.in_chans, s.num_classes);
                   }) &&
    register_model("pyramidnet_shakedrop", "bottleneck PyramidNet with ShakeDrop",
                   pyramidnet_options(), [](const config::Options& o, const ModelShape& s) {
                     return std::make_shared<PyramidNetImpl>(static_cast<int>(o.integer("depth")),
                                                             o.real("alpha"), o.real("shakedrop_p"),
                                                             s.in_chans, s.num_classes);
                   });

}  // namespace
}  // namespace augcore::models

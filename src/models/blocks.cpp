#include "augcore/models/blocks.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

namespace augcore::models {
namespace {

torch::nn::Conv2d conv(int in, int out, int kernel, int stride, int groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .groups(groups)
                               .bias(false));
}

torch::nn::Sequential projection(int in, int out, int stride) {
  return torch::nn::Sequential(conv(in, out, 1, stride), BatchNorm2d(out));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int inplanes, int planes, int stride, bool project) {
  conv1 = register_module("conv1", conv(inplanes, planes, 3, stride));
  bn1 = register_module("bn1", BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1));
  bn2 = register_module("bn2", BatchNorm2d(planes));
  if (project) downsample = register_module("downsample", projection(inplanes, planes, stride));
}

at::Tensor drop_path(const at::Tensor& x, double p, bool training) {
  if (p <= 0 || !training) return x;
  const double keep = 1.0 - p;
  std::vector<std::int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  return x * at::empty(shape, x.options()).bernoulli_(keep).div_(keep);
}

at::Tensor BasicBlockImpl::forward(const at::Tensor& x) {
  at::Tensor out = bn1->forward(conv1->forward(x)).relu_();
  out = models::drop_path(bn2->forward(conv2->forward(out)), drop_path, is_training());
  out += downsample ? downsample->forward(x) : x;
  return out.relu_();
}

BottleneckImpl::BottleneckImpl(int inplanes, int planes, int stride, bool project, int groups,
                               int base_width) {
  const int width = static_cast<int>(planes * (base_width / 64.0)) * groups;
  conv1 = register_module("conv1", conv(inplanes, width, 1, 1));
  bn1 = register_module("bn1", BatchNorm2d(width));
  conv2 = register_module("conv2", conv(width, width, 3, stride, groups));
  bn2 = register_module("bn2", BatchNorm2d(width));
  conv3 = register_module("conv3", conv(width, planes * 4, 1, 1));
  bn3 = register_module("bn3", BatchNorm2d(planes * 4));
  if (project) downsample = register_module("downsample", projection(inplanes, planes * 4, stride));
}

at::Tensor BottleneckImpl::forward(const at::Tensor& x) {
  at::Tensor out = bn1->forward(conv1->forward(x)).relu_();
  out = bn2->forward(conv2->forward(out)).relu_();
  out = models::drop_path(bn3->forward(conv3->forward(out)), drop_path, is_training());
  out += downsample ? downsample->forward(x) : x;
  return out.relu_();
}

void init_conv_bn(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<BatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

void zero_last_bn_of_blocks(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* b = m->as<Bottleneck>()) torch::nn::init::zeros_(b->bn3->weight);
    if (auto* b = m->as<BasicBlock>()) torch::nn::init::zeros_(b->bn2->weight);
  }
}

}  // namespace augcore::models

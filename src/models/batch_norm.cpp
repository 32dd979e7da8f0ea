#include "augcore/models/batch_norm.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <ostream>

namespace augcore::models {

namespace {

at::Tensor per_channel(const at::Tensor& v) {
  return v.view({1, -1, 1, 1});
}

// y = (x - mean) / sqrt(var + eps) * weight + bias with the global batch's mean and (biased)
// variance: two sums over the ranks (Σx and n, then Σ(x - mean)², as precise as one process's
// two-pass variance). Backward: the textbook BatchNorm gradient with Σg and Σg·x̂ summed over
// the ranks; weight and bias get this rank's part (gradient averaging adds the others'). The
// global element count stays a device tensor (ranks may hold different batch sizes), so
// neither pass synchronises with the host.
class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input,
                            const at::Tensor& weight, const at::Tensor& bias,
                            at::Tensor running_mean, at::Tensor running_var, double momentum,
                            double eps, const AllReduceSum* all_reduce) {
    const at::Tensor x = input.to(at::kFloat);
    const std::int64_t channels = x.size(1);
    const std::vector<std::int64_t> dims{0, 2, 3};
    at::Tensor first = at::cat(
        {x.sum(dims), at::full({1}, static_cast<double>(x.numel() / channels), x.options())});
    (*all_reduce)(first);
    const at::Tensor count = first.narrow(0, channels, 1);
    const at::Tensor mean = first.narrow(0, 0, channels) / count;
    const at::Tensor centred = x - per_channel(mean);
    at::Tensor squares = centred.pow(2).sum(dims);
    (*all_reduce)(squares);
    const at::Tensor var = squares / count;
    const at::Tensor invstd = (var + eps).rsqrt();
    const at::Tensor xhat = centred * per_channel(invstd);
    {
      at::NoGradGuard no_grad;
      // Bessel's correction n / max(n - 1, 1), in double as the host computed it before.
      const at::Tensor n = count.to(at::kDouble);
      const at::Tensor unbiased = (n / (n - 1).clamp_min(1)).to(var.scalar_type());
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype()), momentum);
      running_var.mul_(1 - momentum).add_((var * unbiased).to(running_var.dtype()), momentum);
    }
    ctx->save_for_backward({xhat, weight, invstd, count});
    ctx->saved_data["all_reduce"] = reinterpret_cast<std::int64_t>(all_reduce);
    return (xhat * per_channel(weight) + per_channel(bias)).to(input.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& xhat = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& invstd = saved[2];
    const at::Tensor& count = saved[3];
    const auto* all_reduce =
        reinterpret_cast<const AllReduceSum*>(ctx->saved_data["all_reduce"].toInt());
    const at::Tensor g = grads[0].to(at::kFloat);
    const std::vector<std::int64_t> dims{0, 2, 3};
    const at::Tensor sum_g = g.sum(dims), sum_gx = (g * xhat).sum(dims);
    at::Tensor both = at::cat({sum_g, sum_gx});
    (*all_reduce)(both);
    const std::int64_t c = sum_g.size(0);
    const at::Tensor mean_g = both.narrow(0, 0, c) / count;
    const at::Tensor mean_gx = both.narrow(0, c, c) / count;
    const at::Tensor grad_input =
        per_channel(weight * invstd) * (g - per_channel(mean_g) - xhat * per_channel(mean_gx));
    return {grad_input.to(grads[0].scalar_type()),
            sum_gx.to(weight.scalar_type()),
            sum_g.to(weight.scalar_type()),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

BatchNorm2dImpl::BatchNorm2dImpl(std::int64_t num_features, double eps, double momentum)
    : num_features_(num_features), eps_(eps), momentum_(momentum) {
  weight = register_parameter("weight", at::ones({num_features}));
  bias = register_parameter("bias", at::zeros({num_features}));
  running_mean = register_buffer("running_mean", at::zeros({num_features}));
  running_var = register_buffer("running_var", at::ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& input) {
  if (is_training()) {
    at::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (!all_reduce_ || !is_training()) {
    return at::batch_norm(input, weight, bias, running_mean, running_var, is_training(), momentum_,
                          eps_, at::globalContext().userEnabledCuDNN());
  }
  return SyncBatchNormFunction::apply(input, weight, bias, running_mean, running_var, momentum_,
                                      eps_, &all_reduce_);
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "augcore::models::BatchNorm2d(" << num_features_ << ", eps=" << eps_
         << ", momentum=" << momentum_ << (all_reduce_ ? ", synchronised" : "") << ")";
}

int synchronise_batch_norm(torch::nn::Module& model, const AllReduceSum& all_reduce) {
  int count = 0;
  for (auto& m : model.modules(/*include_self=*/true)) {
    if (auto* bn = m->as<BatchNorm2dImpl>()) {
      bn->synchronise(all_reduce);
      ++count;
    }
  }
  return count;
}

}  // namespace augcore::models

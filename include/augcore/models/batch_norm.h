// BatchNorm2d that can compute its training statistics over every data-parallel rank's batch
// (SyncBatchNorm); until asked to, it computes what LibTorch's BatchNorm2d does, with the same
// parameters and buffers (weight, bias, running_mean, running_var, num_batches_tracked).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <iosfwd>

namespace augcore::models {

// Sums a tensor over the ranks in place.
using AllReduceSum = std::function<void(at::Tensor&)>;

// Its own module rather than a subclass of LibTorch's BatchNorm2dImpl, whose base class's
// virtual functions Debian's LibTorch does not export.
class BatchNorm2dImpl : public torch::nn::Module {
 public:
  explicit BatchNorm2dImpl(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  // In training with a synchronisation set: normalises with the mean and variance of the
  // whole global batch and updates the running statistics with them; backward sums the
  // statistics' gradients over the ranks as well. Otherwise LibTorch's BatchNorm2d.
  at::Tensor forward(const at::Tensor& input);
  void synchronise(AllReduceSum all_reduce) { all_reduce_ = std::move(all_reduce); }
  void pretty_print(std::ostream& stream) const override;

  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::int64_t num_features_;
  double eps_, momentum_;
  AllReduceSum all_reduce_;
};
TORCH_MODULE(BatchNorm2d);

// Makes every BatchNorm2d of `model` synchronise through `all_reduce` (nullptr: stop); returns
// how many there are.
int synchronise_batch_norm(torch::nn::Module& model, const AllReduceSum& all_reduce);

}  // namespace augcore::models

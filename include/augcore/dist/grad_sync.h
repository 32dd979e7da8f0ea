// Gradient averaging across data-parallel ranks: buckets of gradients all-reduced after
// backward (the reference engine) or while backward still runs (the overlapped engine).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "augcore/dist/process_group.h"

namespace augcore::dist {

// PyTorch DDP's defaults: a small first bucket so that communication starts early, then 25 MiB.
struct BucketOptions {
  std::int64_t first_bytes = 1 << 20;
  std::int64_t bytes = 25 << 20;
};

// Parameter indices per bucket, in reduction order: parameters in reverse order (about the
// order backward produces their gradients); a bucket closes when it reaches its size or the
// next parameter has another dtype or device.
std::vector<std::vector<std::size_t>> plan_buckets(const std::vector<at::Tensor>& params,
                                                   const BucketOptions& options);

// Makes every parameter's .grad the mean of the ranks' gradients. A parameter without a
// gradient on every rank keeps none; one with a gradient on some rank gets the mean (zeros
// standing in for the missing ones).
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Before a micro-step's backward passes; `last` when the optimizer steps after it (gradients
  // of earlier micro-steps only accumulate locally).
  virtual void begin_micro_step(bool last) = 0;
  // After the last micro-step's backward passes: averages the gradients.
  virtual void finish() = 0;
  virtual std::string name() const = 0;
};

// When gradients are all-reduced: kPostBackward, every bucket after backward; kOverlap, a
// bucket as soon as backward has produced all its gradients, in plan order (objectives that run
// several backward passes per step fall back to post_backward, agreed across ranks).
enum class GradEngine { kOverlap, kPostBackward };

std::unique_ptr<GradientSync> make_gradient_sync(GradEngine engine, Group& group,
                                                 std::vector<at::Tensor> params,
                                                 const BucketOptions& options = {});

}  // namespace augcore::dist

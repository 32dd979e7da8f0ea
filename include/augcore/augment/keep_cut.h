// KeepAugment's selective-cut around a region-cutting policy (Cutout, random erasing): its
// regions land where the saliency is below the τ-quantile.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <string>

#include "augcore/augment/batch.h"
#include "augcore/augment/keep.h"
#include "augcore/augment/saliency.h"

namespace augcore::augment {

template <typename Policy>
class KeepCut {
 public:
  using Options = typename Policy::Options;
  using Draw = typename Policy::Draw;
  KeepCut(Options options, SaliencyFn saliency, KeepOptions keep = {})
      : policy_(std::move(options)),
        keep_(std::move(saliency), keep, std::string("Keep") + Policy::kName) {}
  // `saliency`, when given, is used instead of the saliency source (N×H×W).
  Draw sample(const at::Tensor& images, const at::Tensor& targets, at::Generator generator = {},
              const at::Tensor& saliency = {}) const {
    check_images(images, std::string("Keep") + Policy::kName);
    return policy_.draw(images, &keep_, keep_.saliency(images, targets, saliency), generator);
  }
  at::Tensor apply(const at::Tensor& images, const Draw& draw) const {
    return policy_.apply(images, draw);
  }
  Batch operator()(Batch batch, at::Generator generator = {}) const {
    batch.images = apply(batch.images, sample(batch.images, batch.targets, generator));
    return batch;
  }

 private:
  Policy policy_;
  Keep keep_;
};

}  // namespace augcore::augment

// Label-mixing batch policies: Mixup, CutMix and timm/DeiT's per-batch switch between them.
// Each image is mixed with its mirror in the batch (index N-1-i); targets become soft
// (smoothed one-hot by the loss's label_smoothing, then mixed by the actual lambda).
#pragma once

#include <memory>

#include "augcore/augment/policy.h"

namespace augcore::augment {

class Keep;

// One-hot (with label smoothing s: 1-s+s/K on the label, s/K elsewhere) float N×K targets;
// soft targets pass through.
at::Tensor soft_targets(const at::Tensor& targets, std::int64_t num_classes, double smoothing);

// Options of `cutmix`: alpha, p, mode. keep.h registers keep_cutmix from these.
config::Schema cutmix_schema();
std::unique_ptr<BatchPolicy> make_cutmix(const config::Options& options, const PolicySetup& setup,
                                         std::shared_ptr<const Keep> keep);

// The CutMix box side for a lambda: int(side · sqrt(1 - lambda)) (timm's rand_bbox).
at::Tensor cutmix_box_sides(const at::Tensor& lambda, std::int64_t side);

}  // namespace augcore::augment

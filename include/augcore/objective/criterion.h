// Classification losses: cross-entropy with label smoothing, soft-target cross-entropy, BCE.
#pragma once

#include <ATen/core/Tensor.h>

namespace augcore::objective {

// What a Criterion computes: softmax cross-entropy, or binary cross-entropy per class.
enum class CriterionKind { kCrossEntropy, kBinaryCrossEntropy };

// One criterion for hard (int64 N) and soft (float N×K) targets.
// - kCrossEntropy: hard targets use label smoothing s (target 1-s+s/K on the label, s/K
//   elsewhere); soft targets use -Σ t·log_softmax(z) averaged over the batch (smoothing is the
//   policy's job).
// - kBinaryCrossEntropy: hard targets become smoothed one-hot vectors; the loss is the mean over
//   batch and classes of binary cross-entropy with logits.
class Criterion {
 public:
  // OptionError when label_smoothing is outside [0, 1].
  Criterion(CriterionKind kind, double label_smoothing);
  at::Tensor operator()(const at::Tensor& logits, const at::Tensor& targets) const;
  // Targets in the form the loss consumes, as probabilities (softmax or sigmoid of logits).
  at::Tensor probabilities(const at::Tensor& logits) const;
  bool binary() const { return kind_ == CriterionKind::kBinaryCrossEntropy; }

 private:
  CriterionKind kind_;
  double smoothing_;
};

}  // namespace augcore::objective

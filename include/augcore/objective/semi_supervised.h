// FixMatch's and UDA's losses (Sohn et al. 2020; Xie et al. 2020) for any model and loop: the
// unlabelled loss from the logits of a weak and a strong view of the same images, and UDA's
// training-signal annealing of the labelled loss.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>

namespace augcore::objective {

struct FixMatchOptions {
  // Confidence a weak-view prediction needs to become a pseudo-label (τ).
  TORCH_ARG(double, threshold) = 0.95;
  // Weight of the unlabelled loss (λ_u).
  TORCH_ARG(double, weight) = 1.0;
};

struct UdaOptions {
  // Sharpening temperature of the weak-view target.
  TORCH_ARG(double, temperature) = 0.4;
  // Confidence the (unsharpened) weak-view prediction needs for its image to count (β).
  TORCH_ARG(double, threshold) = 0.8;
  TORCH_ARG(double, weight) = 1.0;
};

// What an unlabelled batch contributed.
struct UnlabelledLoss {
  at::Tensor loss;           // scalar: weight × the batch mean over every image (masked ones 0)
  at::Tensor mask;           // N float: 1 where the weak view was confident enough
  at::Tensor pseudo_labels;  // N int64: the weak view's argmax
};

// FixMatch: pseudo-label = argmax softmax(weak), kept where its probability ≥ threshold;
// loss = weight · mean_n(mask_n · CE(strong_n, pseudo_n)). No gradient flows through `weak`.
// Throws OptionError for logits of different shapes or options outside [0, 1] / ≥ 0.
UnlabelledLoss fixmatch_loss(const at::Tensor& weak_logits, const at::Tensor& strong_logits,
                             const FixMatchOptions& options = {});

// UDA: target = softmax(weak / temperature), kept where max softmax(weak) > threshold;
// loss = weight · mean_n(mask_n · KL(target_n ‖ softmax(strong_n))). No gradient through `weak`.
UnlabelledLoss uda_loss(const at::Tensor& weak_logits, const at::Tensor& strong_logits,
                        const UdaOptions& options = {});

// How UDA's training-signal annealing threshold rises with training progress t ∈ [0, 1]:
// α = t (kLinear), 1 − exp(−5t) (kLog) or exp(5(t − 1)) (kExp).
enum class TsaSchedule { kLinear, kLog, kExp };

// UDA's training-signal annealing threshold at `progress` (step / total, clamped to [0, 1]) for
// `num_classes` K: η = α·(1 − 1/K) + 1/K. Throws OptionError when K < 1.
double tsa_threshold(TsaSchedule schedule, double progress, std::int64_t num_classes);

// The labelled cross-entropy under annealing: examples whose correct-class probability exceeds
// `threshold` are left out; the rest are averaged (0 when none is left).
at::Tensor annealed_cross_entropy(const at::Tensor& logits, const at::Tensor& labels,
                                  double threshold);

}  // namespace augcore::objective

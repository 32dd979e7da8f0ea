// Few-shot evaluation as Chen et al.'s Baseline ("A Closer Look at Few-shot Classification"):
// N-way K-shot episodes drawn from novel classes, and a new linear classifier trained on the
// frozen features of each episode's support set.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <vector>

namespace augcore::eval {

struct EpisodeOptions {
  TORCH_ARG(std::int64_t, ways) = 5;
  TORCH_ARG(std::int64_t, shots) = 1;
  TORCH_ARG(std::int64_t, queries) = 15;  // query images per class
};

// One episode: rows of the feature matrix, with episode labels 0..ways-1 (the position of the
// class in `classes`).
struct Episode {
  std::vector<std::int64_t> classes;  // dataset labels of the ways, in drawn order
  std::vector<std::int64_t> support, support_labels;
  std::vector<std::int64_t> query, query_labels;
};

// Draws episode `index` of the series `seed`: `ways` distinct classes among the labels present,
// then `shots + queries` distinct samples of each (the first `shots` the support). The same
// (labels, options, seed, index) gives the same episode everywhere. Throws
// std::invalid_argument when fewer than `ways` classes exist or a drawn class has fewer than
// shots + queries samples (naming it).
Episode draw_episode(const std::vector<std::int64_t>& labels, const EpisodeOptions& options,
                     std::uint64_t seed, std::int64_t index);

// The Baseline's classifier: a linear layer (PyTorch's default initialisation) trained with
// cross-entropy by SGD (lr 0.01, momentum 0.9, dampening 0.9, weight decay 0.001) for 100 passes
// over the support set in random batches of 4.
struct LinearProbeOptions {
  TORCH_ARG(double, lr) = 0.01;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, dampening) = 0.9;
  TORCH_ARG(double, weight_decay) = 0.001;
  TORCH_ARG(std::int64_t, batch_size) = 4;
  TORCH_ARG(std::int64_t, epochs) = 100;
};

// Trains the probe on `support` (S×D float features, labels in [0, classes)) and returns its
// top-1 accuracy (percent) on `query`. Initialisation and batch order come from (seed,
// episode), a stream apart from the episode draws.
double linear_probe_accuracy(const at::Tensor& support, const at::Tensor& support_labels,
                             const at::Tensor& query, const at::Tensor& query_labels,
                             std::int64_t classes, const LinearProbeOptions& options,
                             std::uint64_t seed, std::int64_t episode);

// Mean and 95 % confidence half-width 1.96 · std / sqrt(n), std without Bessel's correction
// (numpy's np.std, as the Baseline's test script reports it).
struct MeanInterval {
  double mean = 0, half_width = 0;
};
MeanInterval mean_ci95(const std::vector<double>& values);

}  // namespace augcore::eval

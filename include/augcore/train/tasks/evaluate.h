// Evaluation of a classifier on a loader: loss, top-1/top-5 and per-class hits.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "augcore/data/loader.h"
#include "augcore/models/classifier.h"

namespace augcore::train {

struct EvalResult {
  double loss = 0, top1 = 0, top5 = 0;
  std::int64_t images = 0;
  // Per class (when EvalSetup::num_classes > 0): images seen and top-1 hits.
  std::vector<std::int64_t> class_images, class_hits;
};

struct EvalSetup {
  at::Tensor mean, std;  // 1×C×1×1 normalisation on `device`
  c10::Device device = c10::kCPU;
  bool channels_last = false;
  // Applied to the [0,1] pixels (N×C×H×W float on `device`) before normalisation, e.g. an
  // occlusion; none when empty.
  std::function<at::Tensor(const at::Tensor&)> pixels;
  // > 0: count images and top-1 hits per class (labels must lie below it).
  std::int64_t num_classes = 0;
  // Sums the totals over data-parallel ranks; none when empty (one process).
  std::function<std::map<std::string, double>(const std::map<std::string, double>&)> combine;
};

// Evaluates `model` (switched to eval mode, no gradients) on every batch of `loader`'s epoch 0.
EvalResult evaluate(models::ClassifierImpl& model, data::Loader& loader, const EvalSetup& setup);

}  // namespace augcore::train

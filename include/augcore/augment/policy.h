// The batch-policy extension point: augmentations applied to whole batches on the training
// device, in the order a recipe lists them.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "augcore/augment/batch.h"
#include "augcore/augment/saliency.h"
#include "augcore/data/rng.h"
#include "augcore/models/classifier.h"

namespace augcore::augment {

// A batch as policies see it.
struct PolicyBatch {
  at::Tensor images;   // float N×C×H×W, pixels in [0,1], on the training device
  at::Tensor targets;  // int64 N, or float N×K soft targets after mixing
  std::int64_t num_classes = 0;
};

// What a policy may use during one step. Random draws come from `generator` (CPU, seeded
// from (seed, epoch, step)), so a policy's choices never depend on thread timing.
struct StepContext {
  at::Generator generator;
  std::int64_t epoch = 0;
  std::int64_t step = 0;
  models::ClassifierImpl* model = nullptr;  // the classifier, for saliency-based policies
};

// Facts a policy is built with.
struct PolicySetup {
  at::Device device = at::kCPU;
  std::int64_t channels = 3, height = 224, width = 224;
  std::int64_t num_classes = 1000;
  std::vector<double> mean{0.5}, std{0.5};  // the classifier's input normalisation (pixels)
  double label_smoothing = 0;               // the loss's, applied when policies mix labels
  models::ClassifierImpl* model = nullptr;  // the classifier being trained, when there is one
};

class BatchPolicy {
 public:
  virtual ~BatchPolicy() = default;
  virtual void apply(PolicyBatch& batch, StepContext& context) = 0;
  // The files the policy was built from, as "path fingerprint" (empty when none), so that a
  // resumed run can check that they have not changed.
  virtual std::string identity() const { return {}; }
};

// A policy of the library (augcore/augcore.h) as a BatchPolicy: the registered components are
// these, built from recipe options (src/augment/components.cpp).
template <typename Policy>
class LibraryPolicy : public BatchPolicy {
 public:
  explicit LibraryPolicy(Policy policy, std::string identity = {})
      : policy_(std::move(policy)), identity_(std::move(identity)) {}
  void apply(PolicyBatch& batch, StepContext& context) override {
    if constexpr (std::is_base_of_v<torch::detail::ModuleHolderIndicator, Policy>) {
      batch.images = policy_->forward(batch.images, context.generator);  // MraAugmentor
    } else {
      Batch out = policy_(Batch{batch.images, batch.targets}, context.generator);
      batch.images = std::move(out.images);
      batch.targets = std::move(out.targets);
    }
  }
  std::string identity() const override { return identity_; }
  Policy& policy() { return policy_; }

 private:
  Policy policy_;
  std::string identity_;
};

// A CPU generator for one training step, derived from (seed, stream, epoch, step): policies
// use the kTrainStep stream, objectives kObjective. Data-parallel ranks above 0 add their rank
// to the key, so that each rank's part of the batch draws its own values.
at::Generator step_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t step,
                             data::Stream stream = data::Stream::kTrainStep, int rank = 0);

}  // namespace augcore::augment

// The training objective extension point: computes the loss (and any extra forward passes)
// for a batch. The standard objective is criterion(model(x), targets).
#pragma once

#include <ATen/core/Generator.h>

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "augcore/models/classifier.h"
#include "augcore/objective/criterion.h"

namespace augcore::objective {

struct ObjectiveResult {
  at::Tensor loss;           // the whole loss (logged, checked for finiteness)
  at::Tensor backward_loss;  // what the trainer still backpropagates; undefined = `loss`
  at::Tensor logits;         // the main model's logits (for accuracy)
  std::map<std::string, at::Tensor> metrics;  // extra 0-dim figures to log, e.g. train_loss_sub
  // Figures logged as a ratio of epoch sums, name → (numerator, denominator), 0-dim each: for
  // rates over a varying count (the accuracy of the pseudo-labels that passed a threshold).
  std::map<std::string, std::pair<at::Tensor, at::Tensor>> ratios;
};

// What an objective may use in one step besides the batch.
struct ObjectiveContext {
  at::Generator generator;  // CPU generator for random masks, seeded per step
  // Runs backward on part of the loss, scaled as the trainer scales its own backward
  // (gradient accumulation, fp16 loss scaling): for objectives that backpropagate in parts.
  std::function<void(const at::Tensor&)> backward;
  // Where the step is: 0-based epoch, batch within it, optimizer steps done before it.
  std::int64_t epoch = 0, batch = 0, step = 0;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // `images` are normalised; `targets` int64 N or float N×K.
  virtual ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                                  const at::Tensor& targets, ObjectiveContext& context) = 0;
  // Rejects (ConfigError) a model or input size the objective cannot train.
  virtual void check(const models::ClassifierImpl& model, std::int64_t height,
                     std::int64_t width) const;
  // Called before an epoch's batch `first_batch` (0, or where a resumed run continues), for
  // objectives that draw data of their own (semi-supervised training's unlabelled stream).
  virtual void start_epoch(std::int64_t epoch, std::int64_t first_batch);
};

// criterion(model(x), y), plus early_weight × the early head's loss when the model has one
// (logged as train_loss_early), from one forward pass: the `standard` objective, and the
// main pass of others.
ObjectiveResult main_pass(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets, const Criterion& criterion,
                          double early_weight);

}  // namespace augcore::objective

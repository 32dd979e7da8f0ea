// The top-level schema of a training recipe: seed, threads, output, data, train.
#pragma once

#include <ATen/core/ivalue.h>
#include <c10/core/Device.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "augcore/augment/policy.h"
#include "augcore/config/config.h"
#include "augcore/config/schema.h"
#include "augcore/models/classifier.h"
#include "augcore/train/state/amp.h"

namespace augcore::train {

// Every key a recipe may hold, with defaults: the defaults alone are the built-in recipe
// (Fashion-MNIST from /usr/share/datasets/fashion-mnist).
config::Schema recipe_schema();

// The `train` keys of every task's optimizer step (train::TrainStep), in this order: grad_clip,
// accum_steps, ema (enabled, decay), amp, channels_last.
void add_step_keys(config::Schema& train);

// The recipe's `train.amp` as an AmpMode.
AmpMode amp_mode(const config::Options& train);

// The `train` keys of the loop's outputs, in this order: checkpoint_every_steps, step_log,
// tensorboard, deterministic.
void add_output_keys(config::Schema& train);

// The top-level keys the loop reads, in this order: seed, threads, flush_denormal,
// retain_freed_memory, device, output.
void add_run_keys(config::Schema& root);

// A recipe's classifier (`model`) for images of `shape` (C, H, W) and `num_classes`, on the CPU.
// With `weights` (a checkpoint or state dict read from `path`), loaded strictly: DataError
// naming `path` when they do not fit.
std::shared_ptr<models::ClassifierImpl> recipe_classifier(const config::Options& root,
                                                          const std::array<std::int64_t, 3>& shape,
                                                          std::int64_t num_classes,
                                                          const c10::IValue& weights = {},
                                                          const std::string& path = "");

// What a recipe's batch policies are built with: images of `shape` and `num_classes`,
// data.mean/std, loss.label_smoothing, the device and the classifier (null: no saliency).
augment::PolicySetup recipe_policy_setup(const config::Options& root,
                                         const std::array<std::int64_t, 3>& shape,
                                         std::int64_t num_classes, at::Device device,
                                         models::ClassifierImpl* model);

}  // namespace augcore::train

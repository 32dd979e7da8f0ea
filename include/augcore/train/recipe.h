// The top-level schema of a training recipe: seed, threads, output, data, train.
#pragma once

#include "augcore/config/schema.h"

namespace augcore::train {

// Every key a recipe may hold, with defaults: the defaults alone are the built-in recipe
// (Fashion-MNIST from /usr/share/datasets/fashion-mnist).
config::Schema recipe_schema();

// The `train` keys of every task's optimizer step (train::TrainStep), in this order: grad_clip,
// accum_steps, ema (enabled, decay), amp, channels_last.
void add_step_keys(config::Schema& train);

}  // namespace augcore::train

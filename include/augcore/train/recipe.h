// The top-level schema of a training recipe: seed, threads, output, data, train.
#pragma once

#include "augcore/config/schema.h"

namespace augcore::train {

// Every key a recipe may hold, with defaults: the defaults alone are the built-in recipe
// (Fashion-MNIST from /usr/share/datasets/fashion-mnist).
config::Schema recipe_schema();

// train.ema: enabled, decay (the training loop keeps the average).
config::Schema ema_schema();

}  // namespace augcore::train

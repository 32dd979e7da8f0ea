// Exponential moving average of a model's weights, evaluated as a model of its own.
#pragma once

#include <memory>

#include "augcore/models/classifier.h"

namespace augcore::train {

class ModelEma {
 public:
  // `shadow` is a second instance of the same architecture; it starts as a copy of `source`.
  ModelEma(std::shared_ptr<models::ClassifierImpl> shadow, const models::ClassifierImpl& source,
           double decay);
  // shadow = decay·shadow + (1-decay)·model for floating-point parameters and buffers;
  // integer buffers (BN batch counters) are copied.
  void update(const models::ClassifierImpl& model);
  models::ClassifierImpl& model() { return *shadow_; }
  std::shared_ptr<models::ClassifierImpl> shared() { return shadow_; }

 private:
  std::shared_ptr<models::ClassifierImpl> shadow_;
  double decay_;
};

}  // namespace augcore::train

// The training objective extension point: computes the loss (and any extra forward passes)
// for a batch. The standard objective is criterion(model(x), targets).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/models/classifier.h"
#include "augcore/objective/criterion.h"

namespace augcore::objective {

struct ObjectiveResult {
  at::Tensor loss;                        // what backward() runs on
  at::Tensor logits;                      // the main model's logits (for accuracy)
  std::map<std::string, double> metrics;  // extra scalars to log, e.g. train_loss_sub
};

class Objective {
 public:
  virtual ~Objective() = default;
  // `images` are normalised; `targets` int64 N or float N×K.
  virtual ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                                  const at::Tensor& targets) = 0;
};

// The factory signature of registered objectives (kind "objective").
using ObjectiveFactory =
    std::function<std::unique_ptr<Objective>(const config::Options&, Criterion criterion)>;

std::unique_ptr<Objective> make_objective(const config::ComponentConfig& component,
                                          Criterion criterion);

}  // namespace augcore::objective

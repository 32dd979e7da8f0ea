// Semi-supervised classification (FixMatch, UDA) as a training task: classification whose
// objective also draws an unlabelled stream, with epochs of semi.steps_per_epoch steps.
#pragma once

#include <memory>

#include "augcore/train/tasks/classification_task.h"

namespace augcore::train {

class SemiSupervisedTask : public ClassificationTask {
 public:
  // `config` is a validated recipe with semi.method set.
  explicit SemiSupervisedTask(const config::Config& config);
  std::int64_t batches_per_epoch() override;

 protected:
  // The small labelled set is repeated to fill the epoch's steps.
  data::LoaderShape labelled_shape() const override;
  // SemiSupervisedObjective; its strong-view policies join `policies`. ConfigError when the
  // recipe names an objective other than `standard`.
  std::unique_ptr<objective::Objective> make_objective(NamedPolicies& policies) override;
};

}  // namespace augcore::train

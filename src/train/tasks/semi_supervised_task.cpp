#include "augcore/train/tasks/semi_supervised_task.h"

#include "augcore/core/error.h"
#include "augcore/objective/objective_registry.h"
#include "augcore/train/tasks/semi_supervised.h"

namespace augcore::train {

SemiSupervisedTask::SemiSupervisedTask(const config::Config& config) : ClassificationTask(config) {}

std::int64_t SemiSupervisedTask::batches_per_epoch() {
  return root_.section("semi").integer("steps_per_epoch") * setup_.accum_steps;
}

data::LoaderShape SemiSupervisedTask::labelled_shape() const {
  data::LoaderShape labelled;
  labelled.min_samples = static_cast<std::size_t>(root_.section("semi").integer("steps_per_epoch") *
                                                  setup_.accum_steps * setup_.batch_size);
  return labelled;
}

std::unique_ptr<objective::Objective> SemiSupervisedTask::make_objective(NamedPolicies& policies) {
  const config::Options semi_cfg = root_.section("semi");
  if (root_.component("objective").name != "standard") {
    throw ConfigError("objective: semi.method " + semi_cfg.string("method") +
                      " trains with the standard objective, not " +
                      root_.component("objective").name);
  }
  SemiSetup semi;
  semi.seed = setup_.seed;
  semi.shard = setup_.shard;
  semi.batch_size = setup_.batch_size;
  semi.total_steps = semi_cfg.integer("steps_per_epoch") * setup_.epochs;
  semi.rank = setup_.shard.rank;
  semi.mean = mean_;
  semi.std = std_;
  semi.channels_last = setup_.channels_last;
  semi.policies = policy_setup_;
  auto objective = std::make_unique<SemiSupervisedObjective>(
      semi_cfg, data_cfg_, objective::make_criterion(root_.section("loss")), semi,
      batches_per_epoch());
  for (const auto& p : objective->policies())
    policies.push_back(p);
  notes_.push_back("semi-supervised (" + semi_cfg.string("method") + "): unlabelled data " +
                   objective->unlabelled().description());
  return objective;
}

}  // namespace augcore::train

// Semi-supervised training (FixMatch, UDA) as the trainer's objective: an unlabelled stream with a
// weak and a strong view, targets from the weak view, one forward pass for every image.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "augcore/augment/policy.h"
#include "augcore/config/config.h"
#include "augcore/data/loader.h"
#include "augcore/objective/objective.h"
#include "augcore/objective/semi_supervised.h"

namespace augcore::train {

// The recipe's `semi` section: method (none | fixmatch | uda), ratio μ, steps_per_epoch,
// threshold, weight, temperature, tsa, strong (the strong view's batch policies).
config::Schema semi_schema();

// Whether a validated recipe trains semi-supervised.
bool semi_supervised(const config::Options& root);

// What the objective is built with besides the `semi` section.
struct SemiSetup {
  std::uint64_t seed = 0;
  data::Shard shard;
  std::int64_t batch_size = 0;   // labelled images per batch, all processes together
  std::int64_t total_steps = 0;  // optimizer steps of the whole run (annealing's progress)
  int rank = 0;
  at::Tensor mean, std;  // 1×C×1×1 normalisation on the training device
  bool channels_last = false;
  augment::PolicySetup policies;  // for the strong view's policies
};

// The labelled loss plus the unlabelled one, from forward(cat(labelled, weak, strong)) so that
// BatchNorm sees all three as FixMatch's reference does. The unlabelled batch of global
// micro-batch g = epoch × batches_per_epoch + batch is batch g mod U of pass g div U over
// data.unlabelled (U batches per pass), so resuming anywhere gives the same images and views.
// Logs train_loss_labelled, train_loss_unlabelled, mask_rate (share of unlabelled images whose
// target passed the threshold) and pseudo_label_top1 (accuracy of those targets, where the
// unlabelled images carry labels).
class SemiSupervisedObjective : public objective::Objective {
 public:
  // `data` is the recipe's data section (data.unlabelled is read); `batches_per_epoch` counts
  // micro-batches. Throws ConfigError for a missing unlabelled dataset or bad options.
  SemiSupervisedObjective(const config::Options& semi, const config::Options& data,
                          objective::Criterion criterion, const SemiSetup& setup,
                          std::int64_t batches_per_epoch);
  ~SemiSupervisedObjective() override;

  objective::ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                                     const at::Tensor& targets,
                                     objective::ObjectiveContext& context) override;
  void start_epoch(std::int64_t epoch, std::int64_t first_batch) override;

  // The strong view's policies, named as the recipe names them (semi.strong[i]).
  std::vector<std::pair<std::string, const augment::BatchPolicy*>> policies() const;
  const data::Dataset& unlabelled() const { return loader_->dataset(); }

 private:
  // The recipe's options, translated once.
  bool uda_method_;  // UDA's loss, else FixMatch's
  objective::FixMatchOptions fixmatch_;
  objective::UdaOptions uda_;
  std::optional<objective::TsaSchedule> tsa_;  // none: the plain labelled loss
  objective::Criterion criterion_;
  SemiSetup setup_;
  std::int64_t batches_per_epoch_;
  std::unique_ptr<data::Loader> loader_;
  std::int64_t pass_ = 0;
  std::vector<std::unique_ptr<augment::BatchPolicy>> strong_;
};

}  // namespace augcore::train

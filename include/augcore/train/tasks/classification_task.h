// Supervised classification as a training task: batch policies, an objective (standard, MaskSub,
// ...) and a classifier, evaluated on data.val.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "augcore/augment/policy.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/classifier.h"
#include "augcore/objective/objective.h"
#include "augcore/train/loop/task.h"

namespace augcore::train {

// The recipe's batch policies with the paths that name them (policies[i], semi.strong[i]): their
// identities go into checkpoints, and a resumed run must use the same augmentors.
using NamedPolicies = std::vector<std::pair<std::string, const augment::BatchPolicy*>>;

class ClassificationTask : public Task {
 public:
  // `config` is a validated recipe (train::recipe_schema()); it must outlive the task.
  explicit ClassificationTask(const config::Config& config);

  config::Schema schema() const override;
  void build(const TaskSetup& setup) override;
  torch::nn::Module& model() override { return *model_; }
  std::shared_ptr<torch::nn::Module> make_shadow() override;
  data::Loader& train_loader() override { return *train_loader_; }
  std::string describe() const override;
  std::vector<std::string> notes() const override { return notes_; }
  void start_epoch(std::int64_t epoch, std::int64_t first_batch) override;
  StepInputs inputs(const data::Batch& batch, StepContext& context) override;
  StepOutput compute(StepInputs& inputs, StepContext& context) override;
  void report_training(EpochReport& report) override;
  void end_epoch(EpochReport& report) override;
  void evaluate_only(RunSummary& summary) override;
  Record summary_figures(const RunSummary& summary) const override;
  void save_head(c10::impl::GenericDict& checkpoint, const Progress& progress) const override;
  void save_tail(c10::impl::GenericDict& checkpoint) const override;
  std::string checkpoint_format() const override { return "augcore-checkpoint-2"; }
  void restore(const c10::impl::GenericDict& checkpoint, const std::string& path) override;

 protected:
  // How the training loader is sized (semi-supervised training repeats a small labelled set).
  virtual data::LoaderShape labelled_shape() const { return {}; }
  // The objective; `policies` lists the batch policies, to which an objective may add its own.
  virtual std::unique_ptr<objective::Objective> make_objective(NamedPolicies& policies);

  const config::Config& config_;
  config::Options root_, data_cfg_, train_cfg_;
  TaskSetup setup_;
  std::vector<std::string> notes_;
  std::unique_ptr<data::Loader> train_loader_, val_loader_;
  std::int64_t num_classes_ = 0;
  std::array<std::int64_t, 3> shape_{};
  std::shared_ptr<models::ClassifierImpl> model_, shadow_;
  at::Tensor mean_, std_;
  augment::PolicySetup policy_setup_;

 private:
  EvalResult evaluate(models::ClassifierImpl& model);

  bool binary_targets_ = false;  // loss.binary_targets (DeiT-III's BCE)
  std::vector<std::unique_ptr<augment::BatchPolicy>> policies_;
  std::unique_ptr<objective::Objective> objective_;
  NamedPolicies named_policies_;
  std::vector<std::int64_t> train_counts_;  // per class, with train.shot_accuracy
};

}  // namespace augcore::train

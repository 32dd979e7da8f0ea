// MAE pretraining (mae_pretrain): random-mask reconstruction training of an augmentor, as a task
// of the training loop.
#pragma once

#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/models/mae.h"
#include "augcore/train/loop/task.h"
#include "augcore/train/loop/trainer.h"

namespace augcore::train {

// Every key of a pretraining recipe: seed, threads, device, output, data, mae (preset,
// in_chans, norm_pix_loss), mask_ratio, optimizer (AdamW 0.9/0.95, wd 0.05), schedule
// (warmup + cosine), train (epochs, lr = base 1.5e-4 × batch/256, the loop's accumulation,
// clipping, EMA, AMP and logging keys, recon_images). Defaults: a small augmentor for
// Fashion-MNIST.
config::Schema mae_recipe_schema();

// Reconstructs randomly masked patches (mask_ratio of them, drawn per image from the step's
// generator for the global batch, so the masks do not depend on the number of processes);
// writes recon_epochNNN.png (rows of original | masked input | reconstruction) each epoch and
// keeps preset, norm_pix_loss, mean and std in last.pt beside the MAE's weights
// (facebookresearch/mae names).
class MaePretrainTask : public Task {
 public:
  // `config` is a validated pretraining recipe (mae_recipe_schema()).
  explicit MaePretrainTask(const config::Config& config);

  config::Schema schema() const override;
  void build(const TaskSetup& setup) override;
  torch::nn::Module& model() override { return *mae_; }
  std::shared_ptr<torch::nn::Module> make_shadow() override;
  data::Loader& train_loader() override { return *loader_; }
  std::string describe() const override;
  StepInputs inputs(const data::Batch& batch, StepContext& context) override;
  StepOutput compute(StepInputs& inputs, StepContext& context) override;
  void end_epoch(EpochReport& report) override;
  Record summary_figures(const RunSummary& summary) const override;
  void save_tail(c10::impl::GenericDict& checkpoint) const override;
  std::string checkpoint_format() const override { return "augcore-mae-2"; }
  void check_checkpoint(const c10::impl::GenericDict& checkpoint,
                        const std::string& path) const override;

 private:
  config::Options root_, data_cfg_;
  TaskSetup setup_;
  std::unique_ptr<data::Loader> loader_;
  std::string preset_;
  models::MaeConfig config_;
  models::MaskedAutoencoder mae_{nullptr};
  std::int64_t patches_ = 0, keep_ = 0;
  double ratio_ = 0;
  at::Tensor mean_, std_, figure_;
};

struct MaeSummary {
  std::int64_t epochs_done = 0;
  std::int64_t steps = 0;
  double last_loss = 0;
  double images_per_s = 0;
};

// Runs MaePretrainTask in the training loop (see run_task): config.yaml, train.log,
// metrics.jsonl, last.pt, recon_epochNNN.png and summary.json in options.run_dir.
MaeSummary run_mae_pretraining(const config::Config& config, const RunOptions& options);

}  // namespace augcore::train

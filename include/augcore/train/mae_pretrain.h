// MAE pretraining (mae_pretrain): random-mask reconstruction training of an augmentor.
#pragma once

#include "augcore/config/config.h"
#include "augcore/train/trainer.h"

namespace augcore::train {

// Every key of a pretraining recipe: seed, threads, device, output, data, mae (preset,
// in_chans, norm_pix_loss), mask_ratio, optimizer (AdamW 0.9/0.95, wd 0.05), schedule
// (warmup + cosine), train (epochs, lr = base 1.5e-4 × batch/256, grad_clip, log_every,
// recon_images). Defaults: a small augmentor for Fashion-MNIST.
config::Schema mae_recipe_schema();

struct MaeSummary {
  std::int64_t epochs_done = 0;
  std::int64_t steps = 0;
  double last_loss = 0;
  double images_per_s = 0;
};

// Checks the run directory and the checkpoint to resume first (as run_training does), then
// writes config.yaml, train.log, metrics.jsonl, last.pt ({"model": the MAE
// state_dict with facebookresearch/mae names, "optimizer", "epoch", "step", "config", ...})
// and recon_epochNNN.png (rows of original | masked input | reconstruction) every epoch.
MaeSummary run_mae_pretraining(const config::Config& config, const RunOptions& options);

}  // namespace augcore::train

// What training on several processes adds to the training loop: the same start on every rank,
// averaged gradients, agreed decisions, global totals, BatchNorm statistics and one writer.
// With one process every call does nothing, so the loop reads the same either way.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/config/schema.h"
#include "augcore/dist/grad_sync.h"
#include "augcore/dist/process_group.h"

namespace augcore::train {

// The recipe's `dist` section.
config::Schema dist_schema();

// What BatchNorm does across ranks: kLocal, each rank's batch statistics with rank 0's running
// statistics kept (as DDP); kSync, statistics of the global batch (SyncBatchNorm); kReduceEpoch,
// running statistics averaged over the ranks before each evaluation (timm's distribute_bn).
enum class BatchNormMode { kLocal, kSync, kReduceEpoch };

struct DataParallelOptions {
  dist::GradEngine grad_engine = dist::GradEngine::kOverlap;
  BatchNormMode batch_norm = BatchNormMode::kLocal;
  dist::BucketOptions buckets;
};

DataParallelOptions data_parallel_options(const config::Options& dist);

// Joins the job `launch` describes with the recipe's `dist` settings (one process: a group
// without collectives). A CUDA `device` becomes cuda:<local rank>, made current. Throws
// ConfigError when data.loader.batch_size does not divide among the processes or a node runs
// more processes on CUDA than it has devices.
std::unique_ptr<dist::Group> join_job(const dist::LaunchInfo& launch, const config::Options& root,
                                      c10::Device& device);

class DataParallel {
 public:
  DataParallel(dist::Group& group, DataParallelOptions options);

  dist::Group& group() { return group_; }
  bool distributed() const { return group_.distributed(); }
  // Rank 0 writes the run directory; the others only train.
  bool writer() const { return group_.rank() == 0; }

  // Checks that every rank built the same model (parameter and buffer shapes), gives every
  // rank rank 0's parameters and buffers, and prepares the gradient engine. Throws ConfigError
  // when the shapes differ.
  void start(torch::nn::Module& model);
  // Rank 0's parameters and buffers of `module` (an EMA copy) on every rank.
  void share_weights(torch::nn::Module& module);
  // Around each micro-step's backward passes and after the last (see dist::GradientSync).
  void begin_micro_step(bool last);
  void finish_gradients();
  // After the optimizer step: `local` BatchNorm takes rank 0's running statistics, as DDP's
  // broadcast_buffers does, so that every rank holds the same model.
  void after_step(torch::nn::Module& model);
  // At the end of an epoch, before evaluation: `reduce_epoch` averages the BatchNorm
  // statistics over the ranks (timm's distribute_bn).
  void end_epoch(torch::nn::Module& model);

  // Each total summed over the ranks (all ranks must hold the same keys).
  std::map<std::string, double> sum(const std::map<std::string, double>& local,
                                    const std::string& what);
  // A resumed epoch's saved totals are global: rank 0 continues from them, the others from 0.
  std::map<std::string, double> share(const std::map<std::string, double>& saved) const;
  bool any(bool flag, const std::string& what) { return group_.any(flag, what); }
  // The stop signal (SIGINT/SIGTERM number, 0 for none) when any rank received one: every
  // rank then stops at the same step.
  int agreed_signal(int local);
  void barrier(const std::string& what) { group_.barrier(what); }
  std::string engine_name() const { return sync_ ? sync_->name() : "none"; }

 private:
  void broadcast_buffers(torch::nn::Module& model, const std::string& what);
  dist::Group& group_;
  DataParallelOptions options_;
  std::unique_ptr<dist::GradientSync> sync_;
};

}  // namespace augcore::train

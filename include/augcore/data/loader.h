// The threaded data loader: sampler order, per-sample transforms in worker threads, uint8
// N×C×H×W batches delivered in order through a bounded prefetch queue.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "augcore/data/dataset.h"
#include "augcore/data/sampler.h"
#include "augcore/data/transforms.h"

namespace augcore::data {

struct LoaderOptions {
  std::int64_t batch_size = 128;
  int workers = 2;   // 0 = load in the calling thread
  int prefetch = 4;  // batches ready or in flight ahead of the consumer
  bool drop_last = false;
  SamplerKind sampler = SamplerKind::kRandom;
  std::int64_t repeats = 1;  // repeated augmentation (random sampler; epoch_indices)
  std::uint64_t seed = 0;
  Shard shard;                // batch_size is the global batch; this rank loads its part of each
  bool pad_shards = true;     // wrap short last slices around (training) or leave them short
  bool pin_memory = true;     // page-locked batches when CUDA is available
  int max_replacements = 16;  // consecutive unreadable samples tolerated for one slot
  int views = 1;              // independently transformed copies of each sample (FixMatch: 2)
};

struct Batch {
  at::Tensor images;                  // uint8 N×C×H×W
  at::Tensor labels;                  // int64 N
  std::vector<std::int64_t> indices;  // dataset index of each row
  std::vector<at::Tensor> views;      // with LoaderOptions::views > 1: the other views, like images
  std::int64_t epoch = 0;
  std::int64_t index = 0;  // batch number within the epoch (the same on every rank)
};

// Every random draw comes from (seed, epoch, position, sample index[, view]), so batches are the
// same whatever the number of workers, and a sample's transforms whatever the number of ranks.
// With a shard, a batch holds this rank's slice of the global batch (possibly no rows at all:
// images and labels then have size 0). Unreadable samples are logged once, counted and replaced
// by a deterministically drawn other sample.
class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, TransformPipeline transforms,
         LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) an epoch at batch `first_batch` (to resume inside it); workers begin
  // loading immediately. The batches delivered are those an uninterrupted epoch would give.
  void start_epoch(std::int64_t epoch, std::int64_t first_batch = 0);
  // The next batch of the current epoch, or nullopt at its end. Rethrows a loading error.
  std::optional<Batch> next();

  std::size_t batches_per_epoch() const;
  // The C×H×W of a transformed sample (the first readable of the first 16). Throws DataError.
  std::array<std::int64_t, 3> sample_shape() const;
  std::size_t samples_per_epoch() const;
  // Unreadable samples replaced so far (all epochs).
  std::size_t bad_samples() const { return bad_samples_.load(); }
  const Dataset& dataset() const { return *dataset_; }

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  Batch build(std::int64_t batch_index) const;
  // Every view of the sample at `position` (dataset index `index`, or its replacement).
  std::vector<Sample> load_views(std::int64_t position, std::int64_t index) const;
  at::Tensor stack(const std::vector<Sample>& samples, const std::vector<std::int64_t>& indices,
                   std::int64_t* labels) const;
  void worker_loop();
  void stop_workers();

  std::shared_ptr<const Dataset> dataset_;
  TransformPipeline transforms_;
  LoaderOptions options_;
  bool pinned_ = false;

  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> order_;
  std::size_t num_batches_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  std::size_t next_claim_ = 0;
  std::size_t next_deliver_ = 0;
  bool stopping_ = false;
  std::map<std::size_t, Slot> ready_;

  mutable std::atomic<std::size_t> bad_samples_{0};
  mutable std::mutex reported_mutex_;
  mutable std::set<std::string> reported_;
};

}  // namespace augcore::data

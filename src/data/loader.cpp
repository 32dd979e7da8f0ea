#include "augcore/data/loader.h"

#include <ATen/ops/empty.h>
#include <opencv2/core.hpp>

#include <cstring>
#include <stdexcept>

#include "augcore/core/error.h"
#include "augcore/core/torch_compat.h"
#include "core/log.h"

namespace augcore::data {

Loader::Loader(std::shared_ptr<const Dataset> dataset, TransformPipeline transforms,
               LoaderOptions options)
    : dataset_(std::move(dataset)), transforms_(std::move(transforms)), options_(options) {
  if (options_.batch_size < 1) throw std::invalid_argument("batch_size must be positive");
  if (options_.workers < 0) throw std::invalid_argument("workers must not be negative");
  if (options_.views < 1) throw std::invalid_argument("views must be positive");
  if (dataset_->size() == 0) throw DataError(dataset_->description() + ": the dataset is empty");
  options_.prefetch = std::max(options_.prefetch, std::max(1, options_.workers));
  pinned_ = options_.pin_memory && compat::cuda_available();
  // The loader runs samples in parallel; OpenCV's own threads inside a sample would only
  // compete with the other workers and the training step for the cores.
  cv::setNumThreads(0);
}

Loader::~Loader() {
  stop_workers();
}

std::size_t Loader::samples_per_epoch() const {
  return dataset_->size();
}

std::size_t Loader::batches_per_epoch() const {
  const std::size_t n = samples_per_epoch();
  const std::size_t b = static_cast<std::size_t>(options_.batch_size);
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::array<std::int64_t, 3> Loader::sample_shape() const {
  Rng rng(options_.seed);
  const std::size_t tries = std::min<std::size_t>(dataset_->size(), 16);
  for (std::size_t i = 0; i < tries; ++i) {
    try {
      const Image image = transforms_.apply(dataset_->get(i).image, rng);
      return {image.channels, image.height, image.width};
    } catch (const SampleError&) {
      continue;  // reported when the loader meets it
    }
  }
  throw DataError(dataset_->description() + ": none of the first " + std::to_string(tries) +
                  " samples is readable");
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

void Loader::start_epoch(std::int64_t epoch, std::int64_t first_batch) {
  stop_workers();
  epoch_ = epoch;
  order_ = epoch_indices(*dataset_, options_.sampler, options_.seed, epoch, options_.repeats);
  num_batches_ = batches_per_epoch();
  if (first_batch < 0) throw std::invalid_argument("first_batch must not be negative");
  next_claim_ = std::min(static_cast<std::size_t>(first_batch), num_batches_);
  next_deliver_ = next_claim_;
  ready_.clear();
  stopping_ = false;
  for (int i = 0; i < options_.workers; ++i)
    threads_.emplace_back([this] { worker_loop(); });
}

void Loader::worker_loop() {
  for (;;) {
    std::size_t b = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] {
        return stopping_ || next_claim_ >= num_batches_ ||
               next_claim_ < next_deliver_ + static_cast<std::size_t>(options_.prefetch);
      });
      if (stopping_ || next_claim_ >= num_batches_) return;
      b = next_claim_++;
    }
    Slot slot;
    try {
      slot.batch = build(static_cast<std::int64_t>(b));
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(slot));
    }
    cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  if (epoch_ < 0) throw std::logic_error("Loader::next() before start_epoch()");
  if (next_deliver_ >= num_batches_) return std::nullopt;
  Slot slot;
  if (threads_.empty()) {
    try {
      slot.batch = build(static_cast<std::int64_t>(next_deliver_));
    } catch (...) {
      slot.error = std::current_exception();
    }
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(next_deliver_) > 0; });
    auto it = ready_.find(next_deliver_);
    slot = std::move(it->second);
    ready_.erase(it);
  }
  ++next_deliver_;
  cv_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

std::vector<Sample> Loader::load_views(std::int64_t position, std::int64_t index) const {
  const auto e = static_cast<std::uint64_t>(epoch_);
  const auto pos = static_cast<std::uint64_t>(position);
  std::int64_t current = index;
  std::string last_error;
  for (int attempt = 0; attempt <= options_.max_replacements; ++attempt) {
    try {
      const auto key = static_cast<std::uint64_t>(current);
      std::vector<Sample> views;
      Rng rng = Rng::derive(
          {options_.seed, static_cast<std::uint64_t>(Stream::kSampleTransform), e, pos, key});
      views.push_back(transforms_.load(*dataset_, static_cast<std::size_t>(current), rng));
      for (int v = 1; v < options_.views; ++v) {
        Rng view_rng =
            Rng::derive({options_.seed, static_cast<std::uint64_t>(Stream::kSampleTransform), e,
                         pos, key, static_cast<std::uint64_t>(v)});
        views.push_back(transforms_.load(*dataset_, static_cast<std::size_t>(current), view_rng));
      }
      return views;
    } catch (const SampleError& err) {
      ++bad_samples_;
      last_error = err.what();
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(reported_mutex_);
        first = reported_.insert(err.path()).second;
      }
      if (first) log::warn("unreadable sample replaced: {}", err.what());
      Rng rng = Rng::derive({options_.seed, static_cast<std::uint64_t>(Stream::kReplacement), e,
                             pos, static_cast<std::uint64_t>(attempt)});
      current = rng.randint(0, static_cast<std::int64_t>(dataset_->size()));
    }
  }
  throw DataError(dataset_->description() + ": " + std::to_string(options_.max_replacements + 1) +
                  " unreadable samples in a row; last: " + last_error);
}

Batch Loader::build(std::int64_t batch_index) const {
  const std::int64_t begin = batch_index * options_.batch_size;
  const std::int64_t end =
      std::min(static_cast<std::int64_t>(order_.size()), begin + options_.batch_size);
  Batch batch;
  batch.epoch = epoch_;
  batch.index = batch_index;
  std::vector<std::vector<Sample>> views(static_cast<std::size_t>(options_.views));
  for (const std::int64_t p : shard_positions(begin, end, options_.shard, options_.pad_shards)) {
    auto loaded = load_views(p, order_[p]);
    for (std::size_t v = 0; v < views.size(); ++v)
      views[v].push_back(std::move(loaded[v]));
    batch.indices.push_back(order_[p]);
  }
  const auto n = static_cast<std::int64_t>(batch.indices.size());
  batch.labels =
      at::empty({n}, at::TensorOptions().dtype(at::kLong).pinned_memory(pinned_ && n > 0));
  batch.images = stack(views[0], batch.indices, batch.labels.data_ptr<std::int64_t>());
  for (std::size_t v = 1; v < views.size(); ++v)
    batch.views.push_back(stack(views[v], batch.indices, nullptr));
  return batch;
}

at::Tensor Loader::stack(const std::vector<Sample>& samples,
                         const std::vector<std::int64_t>& indices, std::int64_t* labels) const {
  if (samples.empty()) return at::empty({0, 0, 0, 0}, at::kByte);
  const Image& first = samples.front().image;
  const std::int64_t n = static_cast<std::int64_t>(samples.size());
  const int c = first.channels, h = first.height, w = first.width;
  at::Tensor images =
      at::empty({n, c, h, w}, at::TensorOptions().dtype(at::kByte).pinned_memory(pinned_));
  auto* out = images.data_ptr<std::uint8_t>();
  const std::size_t plane = std::size_t(h) * w;
  for (std::int64_t i = 0; i < n; ++i) {
    const Image& img = samples[i].image;
    if (img.channels != c || img.height != h || img.width != w) {
      throw DataError(dataset_->description() + ": sample " + std::to_string(indices[i]) + " is " +
                      std::to_string(img.height) + "x" + std::to_string(img.width) + "x" +
                      std::to_string(img.channels) + " but the batch is " + std::to_string(h) +
                      "x" + std::to_string(w) + "x" + std::to_string(c) +
                      "; add a resize or crop transform so all samples share one size");
    }
    std::uint8_t* dst = out + i * c * plane;
    if (c == 1) {
      std::memcpy(dst, img.pixels.data(), plane);
    } else {
      // HWC -> CHW: one plane per channel, written in place.
      std::vector<cv::Mat> planes;
      for (int k = 0; k < c; ++k)
        planes.emplace_back(h, w, CV_8UC1, dst + k * plane);
      const cv::Mat hwc(h, w, CV_8UC(c), const_cast<std::uint8_t*>(img.pixels.data()));
      cv::split(hwc, planes);
    }
    if (labels) labels[i] = samples[i].label;
  }
  return images;
}

}  // namespace augcore::data

// The `data` section of a recipe (datasets, transforms, loader settings) and loaders built from it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/data/loader.h"

namespace augcore::data {

// kNovel: the few-shot novel classes (data.novel), read as the validation split is.
// kUnlabelled: semi-supervised training's unlabelled images (data.unlabelled), read as the
// training split is (shuffled, training transforms, drop_last) under its own seed.
enum class Split { kTrain, kVal, kNovel, kUnlabelled };

// Declares data.train / data.val / data.novel / data.unlabelled (datasets),
// data.train_transforms / data.val_transforms and data.loader (batch size, workers, prefetch,
// sampler, drop_last, pin_memory).
config::Schema data_schema();

// What a trainer may change of a split's loader beyond the recipe.
struct LoaderShape {
  std::int64_t batch_size = 0;  // 0 = data.loader.batch_size
  std::size_t min_samples = 0;  // repeat the dataset whole until it holds at least this many
  int views = 1;                // independently transformed views of each sample
};

// A loader for one split of a validated `data` section. The validation and novel splits are
// always read sequentially with the validation transforms and keep their last partial batch. Throws
// DataError on unreadable datasets.
std::unique_ptr<Loader> make_loader(const config::Options& data, Split split, std::uint64_t seed,
                                    Shard shard = {}, const LoaderShape& shape = {});

// data.mean and data.std as 1×C×1×1 tensors on `device` (one value applies to every
// channel). Throws ConfigError when their length fits neither 1 nor `channels`.
std::pair<at::Tensor, at::Tensor> normalisation(const config::Options& data, std::int64_t channels,
                                                at::Device device);

}  // namespace augcore::data

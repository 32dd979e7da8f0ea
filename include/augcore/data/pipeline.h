// The `data` section of a recipe (datasets, transforms, loader settings) and loaders built from it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/data/loader.h"

namespace augcore::data {

// kNovel: the few-shot novel classes (data.novel), read as the validation split is.
enum class Split { kTrain, kVal, kNovel };

// Declares data.train / data.val / data.novel (datasets), data.train_transforms /
// data.val_transforms and data.loader (batch size, workers, prefetch, sampler, drop_last,
// pin_memory).
config::Schema data_schema();

// A loader for one split of a validated `data` section. The validation and novel splits are
// always read sequentially with the validation transforms and keep their last partial batch. Throws
// DataError on unreadable datasets.
std::unique_ptr<Loader> make_loader(const config::Options& data, Split split, std::uint64_t seed,
                                    Shard shard = {});

// data.mean and data.std as 1×C×1×1 tensors on `device` (one value applies to every
// channel). Throws ConfigError when their length fits neither 1 nor `channels`.
std::pair<at::Tensor, at::Tensor> normalisation(const config::Options& data, std::int64_t channels,
                                                at::Device device);

}  // namespace augcore::data

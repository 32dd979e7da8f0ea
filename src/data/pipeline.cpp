#include "augcore/data/pipeline.h"

#include <ATen/ATen.h>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/data/subset.h"

namespace augcore::data {

config::Schema data_schema() {
  config::Schema loader;
  loader.add_int("batch_size", 128, "samples per batch (per process)").range(1, 1 << 20);
  loader.add_int("workers", 2, "loader threads; 0 loads in the training thread").range(0, 256);
  loader.add_int("prefetch", 0, "batches loaded ahead; 0 = 2 x workers").range(0, 4096);
  loader.add_choice(
      "sampler", "random", {"random", "sequential", "class_balanced", "square_root"},
      "training order: shuffled, in order, classes drawn uniformly or in proportion to sqrt(size)");
  loader
      .add_int("repeats", 1,
               "repeated augmentation (DeiT/timm's RASampler): each image of the shuffled order "
               "appears this many times in a row, differently augmented; the epoch keeps N samples")
      .range(1, 64);
  loader.add_bool("drop_last", true, "drop the last incomplete training batch");
  loader.add_bool("pin_memory", true, "page-locked batches when CUDA is available");

  config::Schema s;
  s.add_component("train", "dataset", "idx", "training dataset");
  s.add_component("val", "dataset", "", "validation dataset (null: none)").default_value =
      config::parse_yaml_value("{name: idx, split: test}", {});
  s.add_component("novel", "dataset", "",
                  "novel-class dataset for few-shot evaluation (augcore_fewshot; null: none)");
  s.add_component("unlabelled", "dataset", "",
                  "unlabelled images for semi-supervised training (semi; null: none)");
  s.add_component_list("train_transforms", "transform", "per-sample training transforms")
      .default_value =
      config::parse_yaml_value("[{name: random_crop, size: 28, padding: 2}, hflip]", {});
  s.add_component_list("val_transforms", "transform", "per-sample validation transforms");
  s.add_floats("mean", {0.2860}, "per-channel mean of [0,1] pixels (one value: all channels)")
      .items(1, 64);
  s.add_floats("std", {0.3530}, "per-channel std of [0,1] pixels (one value: all channels)")
      .items(1, 64)
      .range(1e-6, 1e6);
  s.add_section("loader", loader, "loader settings");
  return s;
}

namespace {

const char* split_key(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kVal:
      return "val";
    case Split::kNovel:
      return "novel";
    case Split::kUnlabelled:
      return "unlabelled";
  }
  return "";
}

// `dataset` whole, as many times over as it takes to hold `min_samples` (FixMatch's labelled
// stream, when the labelled images are fewer than an epoch's batches need).
std::shared_ptr<Dataset> repeated(std::shared_ptr<Dataset> dataset, std::size_t min_samples) {
  const std::size_t n = dataset->size();
  if (min_samples <= n) return dataset;
  const std::size_t times = (min_samples + n - 1) / n;
  std::vector<std::size_t> indices;
  indices.reserve(times * n);
  for (std::size_t t = 0; t < times; ++t)
    for (std::size_t i = 0; i < n; ++i)
      indices.push_back(i);
  return std::make_shared<IndexSubset>(
      std::move(dataset), std::move(indices),
      "samples (the dataset " + std::to_string(times) + " times over)");
}

}  // namespace

std::unique_ptr<Loader> make_loader(const config::Options& data, Split split, std::uint64_t seed,
                                    Shard shard, const LoaderShape& shape) {
  const bool train = split == Split::kTrain || split == Split::kUnlabelled;
  const std::string key = split_key(split);
  if (data.is_null(key)) throw ConfigError(data.path() + "." + key + ": no dataset configured");
  auto dataset = repeated(make_dataset(data.component(key)), shape.min_samples);
  auto transforms = TransformPipeline::from_config(
      data.components(train ? "train_transforms" : "val_transforms"));
  const config::Options l = data.section("loader");
  LoaderOptions o;
  o.batch_size = shape.batch_size > 0 ? shape.batch_size : l.integer("batch_size");
  o.views = shape.views;
  o.workers = static_cast<int>(l.integer("workers"));
  o.prefetch = l.integer("prefetch") > 0 ? static_cast<int>(l.integer("prefetch")) : 2 * o.workers;
  o.sampler = split == Split::kTrain        ? parse_sampler(l.string("sampler"))
              : split == Split::kUnlabelled ? SamplerKind::kRandom
                                            : SamplerKind::kSequential;
  o.repeats = split == Split::kTrain ? l.integer("repeats") : 1;
  if (o.repeats > 1 && o.sampler != SamplerKind::kRandom) {
    throw ConfigError(l.path() + ".repeats: repeated augmentation needs sampler: random");
  }
  o.drop_last = train && l.boolean("drop_last");
  o.pin_memory = l.boolean("pin_memory");
  o.seed = seed;
  o.shard = shard;
  o.pad_shards = train;
  return std::make_unique<Loader>(std::move(dataset), std::move(transforms), o);
}

namespace {

at::Tensor channel_stats(const std::vector<double>& values, std::int64_t channels,
                         const std::string& key, at::Device device) {
  if (values.size() != 1 && static_cast<std::int64_t>(values.size()) != channels) {
    throw ConfigError("data." + key + ": has " + std::to_string(values.size()) +
                      " values but the images have " + std::to_string(channels) + " channels");
  }
  std::vector<float> v(values.begin(), values.end());
  at::Tensor t = at::tensor(v, at::kFloat);
  if (values.size() == 1) t = t.expand({channels}).contiguous();
  return t.reshape({1, channels, 1, 1}).to(device);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> normalisation(const config::Options& data, std::int64_t channels,
                                                at::Device device) {
  return {channel_stats(data.reals("mean"), channels, "mean", device),
          channel_stats(data.reals("std"), channels, "std", device)};
}

}  // namespace augcore::data

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <map>
#include <set>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/data/loader.h"
#include "augcore/data/pipeline.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore::data {
namespace {

using testing::MemoryDataset;

TransformPipeline random_transforms() {
  static const config::Config cfg = config::Config::from_node(
      config::parse_yaml("data:\n  train_transforms: [{name: random_resized_crop, size: 6, "
                         "scale: [0.3, 1]}, hflip]\n",
                         "t"),
      train::recipe_schema());
  return TransformPipeline::from_config(cfg.root().section("data").components("train_transforms"));
}

std::vector<Batch> epoch(Loader& loader, std::int64_t e) {
  loader.start_epoch(e);
  std::vector<Batch> out;
  while (auto b = loader.next())
    out.push_back(std::move(*b));
  return out;
}

LoaderOptions options(int workers, std::int64_t batch = 8) {
  LoaderOptions o;
  o.workers = workers;
  o.batch_size = batch;
  o.seed = 1234;
  o.prefetch = 3;
  return o;
}

TEST(LoaderTest, SameBatchesWhateverTheNumberOfWorkers) {
  auto ds = std::make_shared<MemoryDataset>(61, 10, 9, 3, 5);
  Loader inline_loader(ds, random_transforms(), options(0));
  Loader one(ds, random_transforms(), options(1));
  Loader four(ds, random_transforms(), options(4));
  for (std::int64_t e = 0; e < 2; ++e) {
    const auto a = epoch(inline_loader, e), b = epoch(one, e), c = epoch(four, e);
    ASSERT_EQ(a.size(), 8u);  // 61 samples, batch 8, last partial batch kept
    ASSERT_EQ(b.size(), a.size());
    ASSERT_EQ(c.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].indices, b[i].indices);
      EXPECT_EQ(a[i].indices, c[i].indices);
      EXPECT_TRUE(at::equal(a[i].images, b[i].images));
      EXPECT_TRUE(at::equal(a[i].images, c[i].images));
      EXPECT_TRUE(at::equal(a[i].labels, c[i].labels));
    }
  }
  // A different epoch or seed gives a different order.
  EXPECT_NE(epoch(one, 0)[0].indices, epoch(one, 1)[0].indices);
}

TEST(LoaderTest, StartingInsideAnEpochGivesTheRemainingBatchesOfAWholeEpoch) {
  auto ds = std::make_shared<MemoryDataset>(61, 10, 9, 3, 5);
  Loader loader(ds, random_transforms(), options(2));
  const auto whole = epoch(loader, 3);
  for (std::int64_t first : {1, 5, 8}) {
    loader.start_epoch(3, first);
    std::vector<Batch> rest;
    while (auto b = loader.next())
      rest.push_back(std::move(*b));
    ASSERT_EQ(rest.size(), whole.size() - static_cast<std::size_t>(first));
    for (std::size_t i = 0; i < rest.size(); ++i) {
      EXPECT_EQ(rest[i].index, first + static_cast<std::int64_t>(i));
      EXPECT_EQ(rest[i].indices, whole[first + i].indices);
      EXPECT_TRUE(at::equal(rest[i].images, whole[first + i].images));
    }
  }
}

TEST(LoaderTest, CollatesUint8NchwInSamplerOrder) {
  auto ds = std::make_shared<MemoryDataset>(10, 3, 4, 3, 4);
  LoaderOptions o = options(2, 4);
  o.sampler = SamplerKind::kSequential;
  o.drop_last = true;
  Loader loader(ds, TransformPipeline(), o);
  const auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  const Batch& b = batches[1];
  EXPECT_EQ(b.images.scalar_type(), at::kByte);
  EXPECT_EQ(b.images.sizes(), (std::vector<std::int64_t>{4, 3, 3, 4}));
  EXPECT_EQ(b.indices, (std::vector<std::int64_t>{4, 5, 6, 7}));
  EXPECT_EQ(b.labels[2].item<std::int64_t>(), 6 % 4);
  // images[n][c][y][x] is the dataset's pixel (index, y, x, c).
  EXPECT_EQ(b.images[1][2][0][3].item<std::uint8_t>(), MemoryDataset::pixel(5, 0, 3, 2));
  EXPECT_EQ(b.images[3][0][2][1].item<std::uint8_t>(), MemoryDataset::pixel(7, 2, 1, 0));
}

TEST(LoaderTest, DropLastAndBatchCounts) {
  auto ds = std::make_shared<MemoryDataset>(10, 2, 2, 1, 2);
  LoaderOptions keep = options(1, 4);
  Loader a(ds, TransformPipeline(), keep);
  const auto all = epoch(a, 0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back().images.size(0), 2);
  keep.drop_last = true;
  Loader b(ds, TransformPipeline(), keep);
  EXPECT_EQ(epoch(b, 0).size(), 2u);
}

TEST(LoaderTest, RandomSamplerIsAPermutation) {
  MemoryDataset ds(97, 1, 1, 1, 3);
  auto order = epoch_indices(ds, SamplerKind::kRandom, 5, 0);
  std::sort(order.begin(), order.end());
  for (std::int64_t i = 0; i < 97; ++i)
    ASSERT_EQ(order[i], i);
}

TEST(LoaderTest, RepeatedAugmentationRepeatsThePermutationsHeadInPlace) {
  // DeiT's RASampler with one rank, N = 10, 3 repeats: p0 p0 p0 p1 p1 p1 p2 p2 p2 p3.
  MemoryDataset ds(10, 1, 1, 1, 3);
  const auto plain = epoch_indices(ds, SamplerKind::kRandom, 5, 2);
  const auto repeated = epoch_indices(ds, SamplerKind::kRandom, 5, 2, 3);
  ASSERT_EQ(repeated.size(), 10u);
  for (std::size_t k = 0; k < 10; ++k)
    EXPECT_EQ(repeated[k], plain[k / 3]) << "position " << k;
  // Copies at different positions draw different transforms: a 3-repeat loader's consecutive
  // copies of one image differ under a random crop.
  auto big = std::make_shared<MemoryDataset>(12, 10, 9, 3, 5);
  LoaderOptions o = options(0, 6);
  o.repeats = 3;
  Loader loader(big, random_transforms(), o);
  const Batch b = epoch(loader, 0).front();
  EXPECT_TRUE(at::equal(b.labels.slice(0, 0, 3), b.labels[0].expand({3})));
  EXPECT_FALSE(at::equal(b.images[0], b.images[1]) && at::equal(b.images[1], b.images[2]));
}

TEST(LoaderTest, ShardPositionsSplitABatchIntoContiguousSlices) {
  // Hand-worked: a batch of positions [10, 20) over 4 ranks: slices of ceil(10 / 4) = 3.
  EXPECT_EQ(shard_positions(10, 20, {0, 4}, true), (std::vector<std::int64_t>{10, 11, 12}));
  EXPECT_EQ(shard_positions(10, 20, {3, 4}, true), (std::vector<std::int64_t>{19, 10, 11}));
  EXPECT_EQ(shard_positions(10, 20, {3, 4}, false), (std::vector<std::int64_t>{19}));
  // A last batch of 2 positions over 3 ranks: rank 2 gets nothing unless padded.
  EXPECT_TRUE(shard_positions(0, 2, {2, 3}, false).empty());
  EXPECT_EQ(shard_positions(0, 2, {2, 3}, true), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(shard_positions(4, 8, {0, 1}, false), (std::vector<std::int64_t>{4, 5, 6, 7}));
}

TEST(LoaderTest, RanksTogetherLoadWhatOneProcessLoads) {
  auto ds = std::make_shared<MemoryDataset>(61, 10, 9, 3, 5);
  auto o = options(2, 12);
  Loader whole(ds, random_transforms(), o);
  std::vector<std::unique_ptr<Loader>> ranks;
  for (int r = 0; r < 3; ++r) {
    auto shard = o;
    shard.shard = {r, 3};
    shard.pad_shards = false;
    ranks.push_back(std::make_unique<Loader>(ds, random_transforms(), shard));
  }
  const auto all = epoch(whole, 1);
  std::vector<std::vector<Batch>> parts;
  for (auto& r : ranks) {
    EXPECT_EQ(r->batches_per_epoch(), whole.batches_per_epoch());
    parts.push_back(epoch(*r, 1));
  }
  ASSERT_EQ(all.size(), 6u);  // 61 samples, batch 12
  for (std::size_t b = 0; b < all.size(); ++b) {
    std::vector<at::Tensor> images, labels;
    std::vector<std::int64_t> indices;
    for (const auto& p : parts) {
      EXPECT_EQ(p[b].index, all[b].index);
      if (p[b].labels.numel() == 0) continue;
      images.push_back(p[b].images);
      labels.push_back(p[b].labels);
      indices.insert(indices.end(), p[b].indices.begin(), p[b].indices.end());
    }
    EXPECT_EQ(indices, all[b].indices);
    EXPECT_TRUE(at::equal(at::cat(images), all[b].images));  // the same random crops and flips
    EXPECT_TRUE(at::equal(at::cat(labels), all[b].labels));
  }
  // The last batch (1 sample) leaves ranks 1 and 2 with nothing to load.
  EXPECT_EQ(parts[2].back().labels.numel(), 0);
}

TEST(LoaderTest, ClassBalancedSamplerEqualisesClassFrequencies) {
  std::vector<std::int64_t> labels(900, 0);
  labels.insert(labels.end(), 90, 1);
  labels.insert(labels.end(), 10, 2);
  MemoryDataset ds(labels, 3);
  std::map<std::int64_t, int> count;
  std::set<std::int64_t> rare_seen;
  int total = 0;
  for (std::int64_t e = 0; e < 20; ++e) {
    for (auto i : epoch_indices(ds, SamplerKind::kClassBalanced, 3, e)) {
      ++count[labels[i]];
      ++total;
      if (labels[i] == 2) rare_seen.insert(i);
    }
  }
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(count[c] / double(total), 1.0 / 3, 0.01) << c;
  EXPECT_EQ(rare_seen.size(), 10u);  // every member of the rare class is drawn
}

TEST(LoaderTest, UnreadableSamplesAreReplacedCountedAndDeterministic) {
  auto ds = std::make_shared<MemoryDataset>(40, 4, 4, 1, 2, std::set<std::size_t>{3, 17});
  LoaderOptions o = options(0, 40);
  o.sampler = SamplerKind::kSequential;
  Loader a(ds, TransformPipeline(), o);
  const auto batch = epoch(a, 0).at(0);
  EXPECT_EQ(batch.images.size(0), 40);
  EXPECT_GE(a.bad_samples(), 2u);
  Loader b(ds, TransformPipeline(), options(3, 40));
  LoaderOptions o3 = options(3, 40);
  o3.sampler = SamplerKind::kSequential;
  Loader c(ds, TransformPipeline(), o3);
  EXPECT_TRUE(at::equal(batch.images, epoch(c, 0).at(0).images));
  // Row 3 holds some other, readable sample rather than the broken one.
  const std::uint8_t row3 = batch.images[3][0][0][0].item<std::uint8_t>();
  EXPECT_NE(row3, MemoryDataset::pixel(3, 0, 0, 0));
}

TEST(LoaderTest, AllSamplesUnreadableIsAnErrorNotAHang) {
  std::set<std::size_t> all{0, 1, 2, 3};
  auto ds = std::make_shared<MemoryDataset>(4, 2, 2, 1, 2, all);
  Loader loader(ds, TransformPipeline(), options(2, 2));
  EXPECT_THROW(loader.sample_shape(), DataError);
  loader.start_epoch(0);
  EXPECT_THROW(loader.next(), DataError);
  // The shape probe skips unreadable samples.
  Loader partly(std::make_shared<MemoryDataset>(4, 3, 5, 1, 2, std::set<std::size_t>{0, 1}),
                TransformPipeline(), options(0, 2));
  EXPECT_EQ(partly.sample_shape(), (std::array<std::int64_t, 3>{1, 3, 5}));
}

TEST(LoaderTest, MixedSizesWithoutACropIsAClearError) {
  class TwoSizes : public MemoryDataset {
   public:
    TwoSizes() : MemoryDataset(4, 4, 4, 1, 2) {}
    Sample get(std::size_t i) const override {
      Sample s = MemoryDataset::get(i);
      if (i == 1) s.image = Image(5, 4, 1);
      return s;
    }
  };
  LoaderOptions o = options(0, 4);
  o.sampler = SamplerKind::kSequential;
  Loader loader(std::make_shared<TwoSizes>(), TransformPipeline(), o);
  loader.start_epoch(0);
  try {
    loader.next();
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1 is 5x4x1 but the batch is 4x4x1"),
              std::string::npos);
  }
}

TEST(PipelineTest, BuildsLoadersFromARecipe) {
  testing::TempDir dir;
  std::vector<std::uint8_t> px(5 * 6 * 6, 7);
  testing::write_bytes(dir.file("img"), testing::idx_bytes({5, 6, 6}, px));
  testing::write_bytes(dir.file("lab"), testing::idx_bytes({5}, {0, 1, 2, 1, 0}));
  const auto cfg = config::Config::from_node(
      config::parse_yaml("data:\n  train: {name: idx, images: " + dir.file("img") + ", labels: " +
                             dir.file("lab") + "}\n  val: {name: idx, images: " + dir.file("img") +
                             ", labels: " + dir.file("lab") +
                             "}\n  train_transforms: [{name: random_crop, size: 4}]\n"
                             "  loader: {batch_size: 2, workers: 1}\n",
                         "t"),
      train::recipe_schema());
  const auto data = cfg.root().section("data");
  auto train = make_loader(data, Split::kTrain, 0);
  EXPECT_EQ(train->batches_per_epoch(), 2u);  // drop_last by default for training
  auto val = make_loader(data, Split::kVal, 0);
  EXPECT_EQ(val->batches_per_epoch(), 3u);
  const auto batches = epoch(*val, 0);
  EXPECT_EQ(batches[0].indices, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(batches[0].images.size(2), 6);  // no validation transforms configured
}

TEST(LoaderTest, ViewsAreIndependentDrawsAndTheFirstIsTheSingleViewBatch) {
  auto ds = std::make_shared<MemoryDataset>(40, 10, 9, 3, 5);
  LoaderOptions o = options(2);
  Loader single(ds, random_transforms(), o);
  o.views = 2;
  Loader two(ds, random_transforms(), o);
  o.workers = 0;
  Loader two_inline(ds, random_transforms(), o);
  const auto a = epoch(single, 3), b = epoch(two, 3), c = epoch(two_inline, 3);
  ASSERT_EQ(b.size(), a.size());
  int differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i].views.empty());
    ASSERT_EQ(b[i].views.size(), 1u);
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_TRUE(at::equal(a[i].images, b[i].images));
    EXPECT_TRUE(at::equal(a[i].labels, b[i].labels));
    EXPECT_EQ(b[i].views[0].sizes(), b[i].images.sizes());
    EXPECT_TRUE(at::equal(b[i].views[0], c[i].views[0]));  // whatever the number of workers
    for (std::int64_t r = 0; r < b[i].images.size(0); ++r)
      differing += at::equal(b[i].images[r], b[i].views[0][r]) ? 0 : 1;
  }
  // Random crops and flips of 9x10 images to 6x6: nearly every pair of views differs.
  EXPECT_GE(differing, 35);
}

TEST(PipelineTest, RepeatsASmallLabelledSetAndReadsTheUnlabelledRest) {
  testing::TempDir dir;
  std::vector<std::uint8_t> px(10 * 4 * 4);
  for (std::size_t i = 0; i < px.size(); ++i)
    px[i] = static_cast<std::uint8_t>(i / 16);  // image i is filled with i
  testing::write_bytes(dir.file("img"), testing::idx_bytes({10, 4, 4}, px));
  testing::write_bytes(dir.file("lab"), testing::idx_bytes({10}, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}));
  const std::string files = "images: " + dir.file("img") + ", labels: " + dir.file("lab");
  const auto cfg = config::Config::from_node(
      config::parse_yaml("data:\n  train: {name: idx, " + files +
                             ", labelled_per_class: 2, subset_seed: 3}\n"
                             "  unlabelled: {name: idx, " +
                             files +
                             ", labelled_per_class: 2, subset_seed: 3, labelled_rest: true}\n"
                             "  train_transforms: []\n  loader: {batch_size: 4, workers: 0}\n",
                         "t"),
      train::recipe_schema());
  const auto data = cfg.root().section("data");
  LoaderShape shape;
  shape.min_samples = 13;  // 4 labelled images, repeated 4 times over: 16
  auto labelled = make_loader(data, Split::kTrain, 0, {}, shape);
  EXPECT_EQ(labelled->samples_per_epoch(), 16u);
  auto unlabelled = make_loader(data, Split::kUnlabelled, 0);
  EXPECT_EQ(unlabelled->samples_per_epoch(), 6u);
  std::map<int, int> seen_labelled, seen_unlabelled;
  for (const auto& b : epoch(*labelled, 0))
    for (std::int64_t r = 0; r < b.images.size(0); ++r)
      ++seen_labelled[b.images[r][0][0][0].item<int>()];
  unlabelled->start_epoch(0);
  while (auto b = unlabelled->next())
    for (std::int64_t r = 0; r < b->images.size(0); ++r)
      ++seen_unlabelled[b->images[r][0][0][0].item<int>()];
  // Each of the 4 labelled images 4 times; the unlabelled batch (drop_last) holds 4 of the
  // other 6, and none of the labelled ones.
  ASSERT_EQ(seen_labelled.size(), 4u);
  for (const auto& [image, count] : seen_labelled) {
    EXPECT_EQ(count, 4) << image;
    EXPECT_EQ(seen_unlabelled.count(image), 0u) << image;
  }
  EXPECT_EQ(seen_unlabelled.size(), 4u);
  EXPECT_EQ(testing::error_message<ConfigError>([&] {
              const auto bad = config::Config::from_node(
                  config::parse_yaml(
                      "data:\n  train: {name: idx, " + files + ", labelled_rest: true}\n", "t"),
                  train::recipe_schema());
              make_loader(bad.root().section("data"), Split::kTrain, 0);
            }),
            "data.train.labelled_rest: needs labelled_per_class (the subset to leave out)");
}

}  // namespace
}  // namespace augcore::data

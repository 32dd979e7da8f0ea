#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "augcore/core/error.h"
#include "augcore/data/sampler.h"
#include "augcore/data/subset.h"
#include "support/fixtures.h"

namespace augcore::data {
namespace {

// Labels only: sample i has label labels[i] and a 1×1 image holding i.
class LabelList : public Dataset {
 public:
  explicit LabelList(std::vector<std::int64_t> labels, std::int64_t classes)
      : labels_(std::move(labels)), classes_(classes) {}
  std::size_t size() const override { return labels_.size(); }
  Sample get(std::size_t i) const override {
    Sample s{Image(1, 1, 1), labels_.at(i)};
    s.image.pixels[0] = static_cast<std::uint8_t>(i);
    return s;
  }
  std::int64_t label(std::size_t i) const override { return labels_.at(i); }
  std::int64_t num_classes() const override { return classes_; }
  std::string description() const override { return "label list"; }

 private:
  std::vector<std::int64_t> labels_;
  std::int64_t classes_;
};

// 3 classes, unevenly sized and interleaved: 0 ×10, 1 ×7, 2 ×4.
LabelList uneven() {
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 10; ++i)
    labels.push_back(0);
  for (int i = 0; i < 7; ++i)
    labels.insert(labels.begin() + 2 * i + 1, 1);
  for (int i = 0; i < 4; ++i)
    labels.insert(labels.begin() + 5 * i, 2);
  return LabelList(labels, 3);
}

TEST(SubsetTest, EveryClassGetsExactlyNDistinctSortedIndices) {
  const LabelList ds = uneven();
  for (std::uint64_t seed : {0u, 1u, 7u}) {
    const auto subset = balanced_subset(ds, 4, seed);
    ASSERT_EQ(subset.size(), 12u);
    EXPECT_TRUE(std::is_sorted(subset.begin(), subset.end()));
    EXPECT_EQ(std::set<std::size_t>(subset.begin(), subset.end()).size(), 12u);
    std::map<std::int64_t, int> count;
    for (auto i : subset)
      ++count[ds.label(i)];
    EXPECT_EQ(count, (std::map<std::int64_t, int>{{0, 4}, {1, 4}, {2, 4}}));
  }
}

TEST(SubsetTest, SeedDecidesTheDrawAndEachSampleIsEquallyLikely) {
  const LabelList ds = uneven();
  EXPECT_EQ(balanced_subset(ds, 3, 5), balanced_subset(ds, 3, 5));
  // Over 3000 seeds every class-0 sample (10 of them, 3 drawn) is picked with p = 0.3:
  // expected 900 each, binomial sd ~25; class 2 (4 samples) all four always at N = 4.
  std::vector<int> hits(ds.size(), 0);
  int differ = 0;
  const auto first = balanced_subset(ds, 3, 0);
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    const auto s = balanced_subset(ds, 3, seed);
    differ += s != first;
    for (auto i : s)
      ++hits[i];
  }
  EXPECT_GT(differ, 2900);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const double p = ds.label(i) == 0 ? 0.3 : ds.label(i) == 1 ? 3.0 / 7 : 0.75;
    EXPECT_NEAR(hits[i], 3000 * p, 130) << "sample " << i;
  }
}

TEST(SubsetTest, TooSmallClassIsNamed) {
  const LabelList ds = uneven();
  const std::string msg = testing::error_message<DataError>([&] { balanced_subset(ds, 5, 0); });
  EXPECT_NE(msg.find("class 2 holds 4 samples, fewer than labelled_per_class = 5"),
            std::string::npos)
      << msg;
}

TEST(SubsetTest, ComplementAndIndexSubsetPartitionTheDataset) {
  auto ds = std::make_shared<LabelList>(uneven());
  const auto subset = balanced_subset(*ds, 2, 3);
  const auto rest = complement(subset, ds->size());
  EXPECT_EQ(subset.size() + rest.size(), ds->size());
  std::set<std::size_t> all(subset.begin(), subset.end());
  all.insert(rest.begin(), rest.end());
  EXPECT_EQ(all.size(), ds->size());
  EXPECT_EQ(complement({0, 2}, 4), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(complement({}, 2), (std::vector<std::size_t>{0, 1}));

  const IndexSubset view(ds, subset, "labelled");
  ASSERT_EQ(view.size(), 6u);
  for (std::size_t k = 0; k < view.size(); ++k) {
    EXPECT_EQ(view.label(k), ds->label(subset[k]));
    EXPECT_EQ(view.get(k).image.pixels[0], subset[k]);
  }
  EXPECT_EQ(view.description(), "label list, 6 labelled");
}

// Cao et al.'s CIFAR-10-LT (imbalance 100, 5,000 images in class 0) and CIFAR-100-LT
// class sizes, as their data loader lists them.
TEST(LongTailTest, CountsFollowTheExponentialProfile) {
  EXPECT_EQ(long_tail_counts(5000, 10, 100),
            (std::vector<std::int64_t>{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50}));
  const auto hundred = long_tail_counts(500, 100, 100);
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred[0], 500);
  EXPECT_EQ(hundred[1], 477);
  EXPECT_EQ(hundred[50], 48);
  EXPECT_EQ(hundred[99], 5);
  std::int64_t total = 0;
  for (auto c : hundred)
    total += c;
  EXPECT_EQ(total, 10847);  // CIFAR-100-LT's 10,847 training images
  EXPECT_EQ(long_tail_counts(7, 1, 10), (std::vector<std::int64_t>{7}));
  EXPECT_EQ(long_tail_counts(4, 3, 1), (std::vector<std::int64_t>{4, 4, 4}));
  EXPECT_THROW(long_tail_counts(10, 3, 0.5), std::invalid_argument);
}

TEST(LongTailTest, ClassSubsetKeepsExactlyTheProfile) {
  const LabelList ds = uneven();
  EXPECT_EQ(class_counts(ds), (std::vector<std::int64_t>{10, 7, 4}));
  const std::vector<std::int64_t> want{9, 3, 1};
  const auto subset = class_subset(ds, want, 11, "profile");
  EXPECT_TRUE(std::is_sorted(subset.begin(), subset.end()));
  EXPECT_EQ(std::set<std::size_t>(subset.begin(), subset.end()).size(), 13u);
  const IndexSubset view(std::make_shared<LabelList>(ds), subset, "long-tailed");
  EXPECT_EQ(class_counts(view), want);
  EXPECT_NE(subset, class_subset(ds, want, 12, "profile"));
  const std::string msg = testing::error_message<DataError>([&] {
    class_subset(ds, {1, 8, 1}, 0, "long_tail_max's profile");
  });
  EXPECT_NE(msg.find("class 1 holds 7 samples, fewer than long_tail_max's profile = 8"),
            std::string::npos)
      << msg;
}

// Square-root sampling draws class c with probability sqrt(n_c) / sum sqrt(n): here
// sqrt(10), sqrt(7), sqrt(4) over 21 draws per epoch, counted over many epochs.
TEST(LongTailTest, SquareRootSamplerFrequencies) {
  const LabelList ds = uneven();
  std::map<std::int64_t, double> seen;
  const int epochs = 4000;
  for (int e = 0; e < epochs; ++e) {
    for (auto i : epoch_indices(ds, SamplerKind::kSquareRoot, 5, e))
      seen[ds.label(static_cast<std::size_t>(i))] += 1;
  }
  const double total = 21.0 * epochs;
  const double z = std::sqrt(10.0) + std::sqrt(7.0) + 2.0;
  EXPECT_NEAR(seen[0] / total, std::sqrt(10.0) / z, 0.005);
  EXPECT_NEAR(seen[1] / total, std::sqrt(7.0) / z, 0.005);
  EXPECT_NEAR(seen[2] / total, 2.0 / z, 0.005);
  EXPECT_EQ(parse_sampler("square_root"), SamplerKind::kSquareRoot);
}

TEST(ClassSubsetTest, KeepsAndRelabelsTheListedClasses) {
  auto ds = std::make_shared<LabelList>(uneven());  // classes 0 ×10, 1 ×7, 2 ×4
  const ClassSubset novel(ds, {2, 0});
  EXPECT_EQ(novel.num_classes(), 2);
  ASSERT_EQ(novel.size(), 14u);
  std::map<std::int64_t, int> count;
  for (std::size_t i = 0; i < novel.size(); ++i) {
    const Sample s = novel.get(i);
    const std::int64_t base_label = ds->label(s.image.pixels[0]);
    EXPECT_EQ(s.label, base_label == 2 ? 0 : 1);
    EXPECT_EQ(novel.label(i), s.label);
    ++count[s.label];
  }
  EXPECT_EQ(count, (std::map<std::int64_t, int>{{0, 4}, {1, 10}}));
  EXPECT_EQ(novel.description(), "label list, classes 2,0");
  EXPECT_THROW(ClassSubset(ds, {0, 3}), std::invalid_argument);
  EXPECT_THROW(ClassSubset(ds, {1, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace augcore::data

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "augcore/eval/few_shot.h"

namespace augcore::eval {
namespace {

// 8 classes; class c holds 20 + c samples, interleaved.
std::vector<std::int64_t> labels() {
  std::vector<std::int64_t> out;
  for (int round = 0; round < 30; ++round)
    for (int c = 0; c < 8; ++c)
      if (round < 20 + c) out.push_back(c);
  return out;
}

TEST(FewShotTest, EpisodesAreDisjointAndDrawnFromTheGivenClasses) {
  const auto ys = labels();
  const auto options = EpisodeOptions().ways(5).shots(3).queries(15);
  std::set<std::vector<std::int64_t>> class_sets;
  for (std::int64_t e = 0; e < 50; ++e) {
    const Episode ep = draw_episode(ys, options, 9, e);
    ASSERT_EQ(ep.classes.size(), 5u);
    EXPECT_EQ(std::set<std::int64_t>(ep.classes.begin(), ep.classes.end()).size(), 5u);
    ASSERT_EQ(ep.support.size(), 15u);
    ASSERT_EQ(ep.query.size(), 75u);
    std::set<std::int64_t> rows(ep.support.begin(), ep.support.end());
    rows.insert(ep.query.begin(), ep.query.end());
    EXPECT_EQ(rows.size(), 90u);  // no image both in the support and the query set
    for (std::size_t i = 0; i < ep.support.size(); ++i)
      EXPECT_EQ(ys[ep.support[i]], ep.classes[ep.support_labels[i]]);
    for (std::size_t i = 0; i < ep.query.size(); ++i)
      EXPECT_EQ(ys[ep.query[i]], ep.classes[ep.query_labels[i]]);
    class_sets.insert(ep.classes);
  }
  EXPECT_GT(class_sets.size(), 20u);  // the ways vary from episode to episode
  const Episode again = draw_episode(ys, options, 9, 7);
  EXPECT_EQ(again.support, draw_episode(ys, options, 9, 7).support);
  EXPECT_NE(again.support, draw_episode(ys, options, 10, 7).support);
}

TEST(FewShotTest, TooSmallClassesAndTooFewWaysAreRefused) {
  const auto ys = labels();
  EXPECT_THROW(draw_episode(ys, EpisodeOptions().ways(9), 0, 0), std::invalid_argument);
  // Class 0 holds 20: 5 shots + 16 queries cannot be drawn from it (every class is drawn once
  // all 8 are needed).
  EXPECT_THROW(draw_episode(ys, EpisodeOptions().ways(8).shots(5).queries(16), 0, 0),
               std::invalid_argument);
}

// Well separated classes (a distinct one-hot direction each, small noise): the Baseline's
// probe classifies every query correctly from one shot.
TEST(FewShotTest, LinearProbeSeparatesSeparableFeatures) {
  at::Generator g = at::detail::createCPUGenerator(3);
  const std::int64_t ways = 5, dim = 16;
  const at::Tensor centres = at::eye(dim).slice(0, 0, ways) * 4;
  const at::Tensor sy = at::arange(ways, at::kLong);
  const at::Tensor qy = at::arange(ways, at::kLong).repeat({15});
  const at::Tensor support = centres.index_select(0, sy) + 0.1 * at::randn({ways, dim}, g);
  const at::Tensor query = centres.index_select(0, qy) + 0.1 * at::randn({ways * 15, dim}, g);
  EXPECT_DOUBLE_EQ(linear_probe_accuracy(support, sy, query, qy, ways, {}, 0, 0), 100.0);
  // Random labels on the queries: about chance, not 100.
  const at::Tensor shuffled = at::randint(ways, {ways * 15}, g);
  EXPECT_LT(linear_probe_accuracy(support, sy, query, shuffled, ways, {}, 0, 0), 60.0);
}

// Hand computation: values 40, 50, 60, 70: mean 55, population std sqrt(125) = 11.1803,
// 1.96 × 11.1803 / 2 = 10.9567.
TEST(FewShotTest, ConfidenceIntervalMatchesTheHandComputation) {
  const auto r = mean_ci95({40, 50, 60, 70});
  EXPECT_DOUBLE_EQ(r.mean, 55.0);
  EXPECT_NEAR(r.half_width, 1.96 * std::sqrt(125.0) / 2.0, 1e-12);
  EXPECT_NEAR(r.half_width, 10.9567, 1e-4);
  EXPECT_DOUBLE_EQ(mean_ci95({42}).half_width, 0.0);
}

}  // namespace
}  // namespace augcore::eval

// Student's t and the paired t-test against closed forms (df = 1, 2, 3, 4) and hand-computed
// cases; the median's order-statistic interval against binomial sums written out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "augcore/eval/statistics.h"

namespace {

using augcore::eval::median_interval;
using augcore::eval::paired_t_test;
using augcore::eval::student_t_critical;
using augcore::eval::student_t_two_sided_p;

// Two-sided p in closed form: df = 1 (Cauchy), 2, 3 and 4.
double closed_form_p(double t, int df) {
  t = std::abs(t);
  switch (df) {
    case 1:
      return 1 - 2 / M_PI * std::atan(t);
    case 2:
      return 1 - t / std::sqrt(2 + t * t);
    case 3: {
      const double x = t / std::sqrt(3.0);
      return 1 - 2 / M_PI * (x / (1 + x * x) + std::atan(x));
    }
    default: {
      const double u = 1 + t * t / 4;
      return 1 - 0.75 * (t / std::sqrt(u)) * (1 - t * t / (12 * u));
    }
  }
}

TEST(StatisticsTest, TwoSidedPMatchesClosedForms) {
  for (int df = 1; df <= 4; ++df) {
    for (const double t : {0.0, 0.1, 0.5, 1.0, 2.0, -2.0, 3.7, 10.0, 50.0}) {
      EXPECT_NEAR(student_t_two_sided_p(t, df), closed_form_p(t, df), 1e-12)
          << "t = " << t << ", df = " << df;
    }
  }
  // Large df approaches the normal: P(|Z| ≥ 1.959964) = 0.05.
  EXPECT_NEAR(student_t_two_sided_p(1.959963985, 1e7), 0.05, 1e-6);
}

TEST(StatisticsTest, CriticalValuesMatchClosedForms) {
  // df = 1: tan(π (1 − α/2) − π/2); df = 2: (2u − 1) / sqrt(2u(1 − u)) with u = 1 − α/2.
  for (const double alpha : {0.05, 0.01, 0.2}) {
    const double u = 1 - alpha / 2;
    EXPECT_NEAR(student_t_critical(alpha, 1), std::tan(M_PI * u - M_PI / 2), 1e-9);
    EXPECT_NEAR(student_t_critical(alpha, 2), (2 * u - 1) / std::sqrt(2 * u * (1 - u)), 1e-9);
  }
  EXPECT_NEAR(student_t_critical(0.05, 7), 2.364624251592785, 1e-9);  // printed tables: 2.365
  EXPECT_THROW(student_t_critical(0, 3), std::invalid_argument);
  EXPECT_THROW(student_t_two_sided_p(1, 0), std::invalid_argument);
}

TEST(StatisticsTest, PairedTestByHand) {
  // Differences 1, 2, 3, 4: mean 2.5, std sqrt(5/3), s.e. sqrt(5/12), t = 2.5 / sqrt(5/12).
  const auto r = paired_t_test({1, 2, 3, 4});
  const double se = std::sqrt(5.0 / 12.0);
  EXPECT_EQ(r.n, 4);
  EXPECT_NEAR(r.mean, 2.5, 1e-12);
  EXPECT_NEAR(r.std, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(r.t, 2.5 / se, 1e-12);
  EXPECT_NEAR(r.p, closed_form_p(2.5 / se, 3), 1e-12);
  // t(0.975, 3) = 3.182446305284263.
  EXPECT_NEAR(r.ci_low, 2.5 - 3.182446305284263 * se, 1e-9);
  EXPECT_NEAR(r.ci_high, 2.5 + 3.182446305284263 * se, 1e-9);
  // A difference straddling zero: the interval holds 0 and p > 0.05.
  const auto noisy = paired_t_test({1, -1, 0.5, -0.2});
  EXPECT_LT(noisy.ci_low, 0);
  EXPECT_GT(noisy.ci_high, 0);
  EXPECT_GT(noisy.p, 0.05);
  // Identical differences: no spread.
  EXPECT_EQ(paired_t_test({0.3, 0.3, 0.3}).p, 0);
  EXPECT_EQ(paired_t_test({0, 0}).p, 1);
  EXPECT_THROW(paired_t_test({1.0}), std::invalid_argument);
}

TEST(StatisticsTest, MedianIntervalByHand) {
  // 9 values: [x(2), x(8)], coverage 1 - 2 (C(9,0) + C(9,1)) / 2^9 = 1 - 20/512; k = 3 would
  // hold only 1 - 2 (1 + 9 + 36) / 512 = 0.82.
  const auto nine = median_interval({9, 3, 7, 1, 5, 8, 2, 6, 4});
  EXPECT_EQ(nine.n, 9);
  EXPECT_EQ(nine.median, 5);
  EXPECT_EQ(nine.low, 2);
  EXPECT_EQ(nine.high, 8);
  EXPECT_DOUBLE_EQ(nine.coverage, 1 - 20.0 / 512);
  // 15 values (the 224-px rounds): [x(4), x(12)], 1 - 2 (1 + 15 + 105 + 455) / 2^15.
  std::vector<double> fifteen;
  for (int i = 15; i >= 1; --i)
    fifteen.push_back(i * 0.1);
  const auto f = median_interval(fifteen);
  EXPECT_DOUBLE_EQ(f.median, 0.8);
  EXPECT_DOUBLE_EQ(f.low, 0.4);
  EXPECT_DOUBLE_EQ(f.high, 1.2);
  EXPECT_DOUBLE_EQ(f.coverage, 1 - 2 * 576.0 / 32768);
  // 8 values: k = 2 holds 1 - 2 * 9/256 = 0.93 < 0.95, so the range (1 - 2/256); the even
  // median is the mean of the middle two.
  const auto eight = median_interval({4, 1, 8, 2, 7, 3, 6, 5});
  EXPECT_EQ(eight.median, 4.5);
  EXPECT_EQ(eight.low, 1);
  EXPECT_EQ(eight.high, 8);
  EXPECT_DOUBLE_EQ(eight.coverage, 1 - 2.0 / 256);
  // 5 values: even the range holds only 1 - 2/32 = 0.9375.
  const auto five = median_interval({2, 4, 1, 5, 3});
  EXPECT_EQ(five.low, 1);
  EXPECT_EQ(five.high, 5);
  EXPECT_DOUBLE_EQ(five.coverage, 0.9375);
  // A lower confidence narrows it: 9 values at 80 % give [x(3), x(7)] (0.82).
  const auto narrow = median_interval({9, 3, 7, 1, 5, 8, 2, 6, 4}, 0.8);
  EXPECT_EQ(narrow.low, 3);
  EXPECT_EQ(narrow.high, 7);
  EXPECT_DOUBLE_EQ(narrow.coverage, 1 - 92.0 / 512);
  // Six values: the range already holds 1 - 2/64 = 0.969; two hold 0.5; one holds nothing.
  const auto six = median_interval({6, 1, 5, 2, 4, 3});
  EXPECT_EQ(six.low, 1);
  EXPECT_EQ(six.high, 6);
  EXPECT_DOUBLE_EQ(six.coverage, 1 - 2.0 / 64);
  const auto two = median_interval({3, 1});
  EXPECT_EQ(two.median, 2);
  EXPECT_EQ(two.low, 1);
  EXPECT_EQ(two.high, 3);
  EXPECT_DOUBLE_EQ(two.coverage, 0.5);
  const auto one = median_interval({7});
  EXPECT_EQ(one.low, 7);
  EXPECT_EQ(one.high, 7);
  EXPECT_DOUBLE_EQ(one.coverage, 0);
  EXPECT_THROW(median_interval({}), std::invalid_argument);
  EXPECT_THROW(median_interval({1, std::nan(""), 2}), std::invalid_argument);
  EXPECT_THROW(median_interval({1, 2}, 1.0), std::invalid_argument);
}

}  // namespace

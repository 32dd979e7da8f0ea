// Paired comparisons of runs over seeds: Student's t distribution, the paired t-test and its
// confidence interval (what sweeps report for "does A differ from B"); the median's
// distribution-free interval (what benchmarks report for a ratio timed over rounds).
#pragma once

#include <vector>

namespace augcore::eval {

// Two-sided tail probability P(|T| ≥ |t|) of Student's t with `df` > 0 degrees of freedom.
double student_t_two_sided_p(double t, double df);

// The t with two-sided tail probability `alpha` (the (1 − alpha/2) quantile), 0 < alpha < 1.
double student_t_critical(double alpha, double df);

// A paired comparison: the per-pair differences' mean and sample std, the `confidence`
// interval of the mean difference (t-based), and the two-sided paired t-test.
struct PairedTest {
  int n = 0;
  double mean = 0, std = 0;
  double ci_low = 0, ci_high = 0;
  double t = 0, p = 1;
};

// The paired t-test of `differences` (A − B per seed). Throws std::invalid_argument for fewer
// than two differences. Identical differences give std 0: p = 0 unless their mean is 0 (p = 1).
PairedTest paired_t_test(const std::vector<double>& differences, double confidence = 0.95);

// The median of n values and its distribution-free confidence interval [x(k), x(n+1-k)] (the
// order statistics), with the largest k whose coverage 1 - 2 P(Binomial(n, 1/2) < k) is at least
// the asked confidence; `coverage` is that exact figure. Below six values no k reaches 95 %: the
// interval is then the range, and `coverage` says how little it holds.
struct MedianInterval {
  int n = 0;
  double median = 0, low = 0, high = 0, coverage = 0;
};

// Throws std::invalid_argument for no values, a value that is not finite, or a confidence
// outside (0, 1).
MedianInterval median_interval(std::vector<double> values, double confidence = 0.95);

}  // namespace augcore::eval

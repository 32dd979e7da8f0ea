// Paired comparisons of runs over seeds: Student's t distribution, the paired t-test and its
// confidence interval (what sweeps report for "does A differ from B").
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

}  // namespace augcore::eval

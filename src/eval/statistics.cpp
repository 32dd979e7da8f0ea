#include "augcore/eval/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace augcore::eval {
namespace {

// The continued fraction of the regularised incomplete beta function I_x(a, b) (modified
// Lentz), valid for x < (a + 1) / (a + b + 2).
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  const auto clamp = [](double v) { return std::abs(v) < kTiny ? kTiny : v; };
  double c = 1;
  double d = 1 / clamp(1 - (a + b) * x / (a + 1));
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / clamp(1 + even * d);
    c = clamp(1 + even / c);
    h *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / clamp(1 + odd * d);
    c = clamp(1 + odd / c);
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < kEps) break;
  }
  return h;
}

// The regularised incomplete beta function I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_two_sided_p(double t, double df) {
  if (!(df > 0)) throw std::invalid_argument("student_t_two_sided_p: df must be positive");
  if (std::isinf(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double student_t_critical(double alpha, double df) {
  if (!(alpha > 0 && alpha < 1)) {
    throw std::invalid_argument("student_t_critical: alpha must lie in (0, 1)");
  }
  // The two-sided p falls from 1 at t = 0: bisect for p(t) = alpha.
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, df) > alpha)
    hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (student_t_two_sided_p(mid, df) > alpha ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

PairedTest paired_t_test(const std::vector<double>& differences, double confidence) {
  if (differences.size() < 2) {
    throw std::invalid_argument("paired_t_test: needs at least two paired differences");
  }
  PairedTest r;
  r.n = static_cast<int>(differences.size());
  for (const double d : differences)
    r.mean += d / r.n;
  double ss = 0;
  for (const double d : differences)
    ss += (d - r.mean) * (d - r.mean);
  r.std = std::sqrt(ss / (r.n - 1));
  const double df = r.n - 1;
  const double se = r.std / std::sqrt(static_cast<double>(r.n));
  const double half = student_t_critical(1 - confidence, df) * se;
  r.ci_low = r.mean - half;
  r.ci_high = r.mean + half;
  if (se == 0) {
    r.t = r.mean == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), r.mean);
    r.p = r.mean == 0 ? 1 : 0;
  } else {
    r.t = r.mean / se;
    r.p = student_t_two_sided_p(r.t, df);
  }
  return r;
}

MedianInterval median_interval(std::vector<double> values, double confidence) {
  if (values.empty()) throw std::invalid_argument("median_interval: needs at least one value");
  if (!(confidence > 0 && confidence < 1)) {
    throw std::invalid_argument("median_interval: confidence must lie in (0, 1)");
  }
  for (const double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument("median_interval: a value is not finite");
  }
  std::sort(values.begin(), values.end());
  MedianInterval r;
  r.n = static_cast<int>(values.size());
  const std::size_t n = values.size();
  r.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  // below[k] = P(Binomial(n, 1/2) < k), built from the probabilities C(n, j) / 2^n.
  double term = std::pow(0.5, r.n), below = 0;
  int k = 1;
  r.coverage = 1 - 2 * term;
  for (int j = 0; 2 * (j + 2) <= r.n + 1; ++j) {
    below += term;
    term *= static_cast<double>(r.n - j) / (j + 1);
    const double coverage = 1 - 2 * (below + term);
    if (coverage < confidence) break;
    k = j + 2;
    r.coverage = coverage;
  }
  // k = 1 when even the range falls short of the confidence: the range, with its coverage.
  r.low = values[static_cast<std::size_t>(k - 1)];
  r.high = values[n - static_cast<std::size_t>(k)];
  return r;
}

}  // namespace augcore::eval

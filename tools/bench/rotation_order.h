// The turn order of a timing rotation's rounds: a Williams design (balanced Latin square).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace augcore::bench {

// The turn order of `round` (0-based) for `n` contestants. Rounds 0..n-1 are the rows of a
// Williams Latin square (the first row 0, 1, n-1, 2, n-2, …; row r adds r mod n), in which each
// ordered pair of contestants is adjacent exactly once when n is even; for odd n the next n
// rounds take those rows reversed, and each pair is adjacent twice in the 2n. Later rounds repeat
// the cycle. So over whole cycles every contestant holds every place, and follows every other
// one within a round, equally often; across a round's boundary (the last turn of one round, the
// first of the next) and over a partial cycle the balance is only approximate.
inline std::vector<std::size_t> rotation_order(std::size_t n, std::size_t round) {
  if (n == 0) return {};
  const std::size_t cycle = n % 2 == 0 ? n : 2 * n;
  const std::size_t q = round % cycle;
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t first = k == 0 ? 0 : k % 2 == 1 ? (k + 1) / 2 : n - k / 2;
    order[k] = (first + q) % n;
  }
  if (q >= n) std::reverse(order.begin(), order.end());
  return order;
}

}  // namespace augcore::bench

// The rotation's turn order, checked by counting over a cycle: every round a permutation, every
// contestant in every place equally often, every ordered pair adjacent equally often.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "bench/rotation_order.h"

namespace {

using augcore::bench::rotation_order;

TEST(RotationOrder, EveryPlaceAndEveryPredecessorEquallyOftenOverACycle) {
  for (std::size_t n = 1; n <= 16; ++n) {  // the suite's rotations hold 2-15 contestants
    const std::size_t cycle = n % 2 == 0 ? n : 2 * n;
    using Pair = std::pair<std::size_t, std::size_t>;
    std::map<Pair, int> place, follows;
    for (std::size_t r = 0; r < cycle; ++r) {
      const auto order = rotation_order(n, r);
      ASSERT_EQ(order.size(), n);
      ASSERT_EQ(std::set<std::size_t>(order.begin(), order.end()).size(), n) << "n " << n;
      for (std::size_t k = 0; k < n; ++k) {
        ASSERT_LT(order[k], n);
        ++place[Pair(order[k], k)];
        if (k > 0) ++follows[Pair(order[k - 1], order[k])];
      }
    }
    for (std::size_t a = 0; a < n; ++a) {
      for (std::size_t k = 0; k < n; ++k)
        EXPECT_EQ(place[Pair(a, k)], static_cast<int>(cycle / n)) << "n " << n << " place " << k;
      for (std::size_t b = 0; b < n; ++b) {
        if (a != b)
          EXPECT_EQ(follows[Pair(a, b)], static_cast<int>(cycle / n))
              << "n " << n << ": " << a << "→" << b;
      }
    }
  }
}

TEST(RotationOrder, RoundsRepeatAfterTheCycle) {
  EXPECT_EQ(rotation_order(4, 1), rotation_order(4, 5));
  EXPECT_EQ(rotation_order(5, 3), rotation_order(5, 13));
  EXPECT_EQ(rotation_order(5, 7), std::vector<std::size_t>({0, 4, 1, 3, 2}));
  EXPECT_EQ(rotation_order(4, 0), std::vector<std::size_t>({0, 1, 3, 2}));
  EXPECT_TRUE(rotation_order(0, 0).empty());
}

}  // namespace

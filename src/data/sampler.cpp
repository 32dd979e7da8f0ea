#include "augcore/data/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "augcore/core/error.h"
#include "augcore/data/rng.h"

namespace augcore::data {

SamplerKind parse_sampler(const std::string& name) {
  if (name == "random") return SamplerKind::kRandom;
  if (name == "sequential") return SamplerKind::kSequential;
  if (name == "class_balanced") return SamplerKind::kClassBalanced;
  if (name == "square_root") return SamplerKind::kSquareRoot;
  throw std::invalid_argument("unknown sampler '" + name + "'");
}

std::vector<std::int64_t> shard_positions(std::int64_t begin, std::int64_t end, Shard shard,
                                          bool pad) {
  if (shard.world_size < 1 || shard.rank < 0 || shard.rank >= shard.world_size) {
    throw std::invalid_argument("invalid shard rank/world size");
  }
  const std::int64_t m = end - begin;
  const std::int64_t per = (m + shard.world_size - 1) / shard.world_size;
  std::vector<std::int64_t> positions;
  for (std::int64_t i = shard.rank * per; i < (shard.rank + 1) * per; ++i) {
    if (i >= m && !pad) break;
    positions.push_back(begin + i % m);
  }
  return positions;
}

std::vector<std::int64_t> epoch_indices(const Dataset& dataset, SamplerKind kind,
                                        std::uint64_t seed, std::int64_t epoch,
                                        std::int64_t repeats) {
  const std::int64_t n = static_cast<std::int64_t>(dataset.size());
  std::vector<std::int64_t> order(n);
  Rng rng = Rng::derive(
      {seed, static_cast<std::uint64_t>(Stream::kSampler), static_cast<std::uint64_t>(epoch)});
  switch (kind) {
    case SamplerKind::kSequential:
      std::iota(order.begin(), order.end(), 0);
      break;
    case SamplerKind::kRandom:
      std::iota(order.begin(), order.end(), 0);
      for (std::int64_t i = n - 1; i > 0; --i)
        std::swap(order[i], order[rng.randint(0, i + 1)]);
      if (repeats > 1) {
        std::vector<std::int64_t> repeated;
        repeated.reserve(n);
        for (std::int64_t i = 0; static_cast<std::int64_t>(repeated.size()) < n; ++i)
          for (std::int64_t r = 0; r < repeats && static_cast<std::int64_t>(repeated.size()) < n;
               ++r)
            repeated.push_back(order[i]);
        order = std::move(repeated);
      }
      break;
    case SamplerKind::kClassBalanced:
    case SamplerKind::kSquareRoot: {
      std::vector<std::vector<std::int64_t>> by_class(dataset.num_classes());
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t label = dataset.label(i);
        if (label >= 0 && label < dataset.num_classes()) by_class[label].push_back(i);
      }
      std::vector<std::int64_t> present;
      std::vector<double> cumulative;  // square_root: running sum of sqrt(class size)
      for (std::size_t c = 0; c < by_class.size(); ++c) {
        if (by_class[c].empty()) continue;
        present.push_back(static_cast<std::int64_t>(c));
        cumulative.push_back((cumulative.empty() ? 0.0 : cumulative.back()) +
                             std::sqrt(static_cast<double>(by_class[c].size())));
      }
      if (present.empty()) throw DataError(dataset.description() + ": no samples to draw from");
      for (auto& slot : order) {
        std::size_t k = 0;
        if (kind == SamplerKind::kClassBalanced) {
          k = static_cast<std::size_t>(rng.randint(0, present.size()));
        } else {
          const double u = rng.uniform() * cumulative.back();
          k = std::min<std::size_t>(
              std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin(),
              present.size() - 1);
        }
        const auto& members = by_class[present[k]];
        slot = members[rng.randint(0, members.size())];
      }
      break;
    }
  }
  return order;
}

}  // namespace augcore::data

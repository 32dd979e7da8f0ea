#include "augcore/data/sampler.h"

#include <numeric>
#include <stdexcept>

#include "augcore/core/error.h"
#include "augcore/data/rng.h"

namespace augcore::data {

SamplerKind parse_sampler(const std::string& name) {
  if (name == "random") return SamplerKind::kRandom;
  if (name == "sequential") return SamplerKind::kSequential;
  if (name == "class_balanced") return SamplerKind::kClassBalanced;
  throw std::invalid_argument("unknown sampler '" + name + "'");
}

std::vector<std::int64_t> epoch_indices(const Dataset& dataset, SamplerKind kind,
                                        std::uint64_t seed, std::int64_t epoch, Shard shard) {
  if (shard.world_size < 1 || shard.rank < 0 || shard.rank >= shard.world_size) {
    throw std::invalid_argument("invalid shard rank/world size");
  }
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
      break;
    case SamplerKind::kClassBalanced: {
      std::vector<std::vector<std::int64_t>> by_class(dataset.num_classes());
      for (std::int64_t i = 0; i < n; ++i)
        by_class[dataset.label(i)].push_back(i);
      std::vector<std::int64_t> present;
      for (std::size_t c = 0; c < by_class.size(); ++c) {
        if (!by_class[c].empty()) present.push_back(static_cast<std::int64_t>(c));
      }
      if (present.empty()) throw DataError(dataset.description() + ": no samples to draw from");
      for (auto& slot : order) {
        const auto& members = by_class[present[rng.randint(0, present.size())]];
        slot = members[rng.randint(0, members.size())];
      }
      break;
    }
  }
  if (shard.world_size == 1) return order;
  const std::int64_t per_rank = (n + shard.world_size - 1) / shard.world_size;
  std::vector<std::int64_t> mine;
  mine.reserve(per_rank);
  for (std::int64_t k = 0; k < per_rank; ++k) {
    const std::int64_t position = k * shard.world_size + shard.rank;
    mine.push_back(order[position % n]);
  }
  return mine;
}

}  // namespace augcore::data

// Per-epoch sample orders: random, sequential, class-balanced, sharded by (rank, world size).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

enum class SamplerKind { kRandom, kSequential, kClassBalanced };

// Parses "random" | "sequential" | "class_balanced".
SamplerKind parse_sampler(const std::string& name);

// This process's part of the data when several processes train together.
struct Shard {
  int rank = 0;
  int world_size = 1;
};

// The indices one rank visits in `epoch`:
// - random: a permutation drawn from (seed, epoch);
// - sequential: 0..N-1;
// - class_balanced: N draws, each a uniformly chosen class then a uniform sample of it
//   (with replacement), so every class is seen equally often;
// then, like PyTorch's DistributedSampler, the order is padded by wrapping around to a
// multiple of world_size and rank r takes positions r, r + world_size, ...
std::vector<std::int64_t> epoch_indices(const Dataset& dataset, SamplerKind kind,
                                        std::uint64_t seed, std::int64_t epoch, Shard shard);

}  // namespace augcore::data

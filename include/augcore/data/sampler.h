// Per-epoch sample orders: random, sequential, class-balanced, square-root; and which part of each
// batch a data-parallel rank loads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

enum class SamplerKind { kRandom, kSequential, kClassBalanced, kSquareRoot };

// Parses "random" | "sequential" | "class_balanced" | "square_root".
SamplerKind parse_sampler(const std::string& name);

// This process's part of each batch when several processes train together.
struct Shard {
  int rank = 0;
  int world_size = 1;
};

// The positions (in the epoch's order) rank `shard.rank` loads of the batch covering positions
// [begin, end): the rank's contiguous ceil(m / world_size) slice of those m positions, so that
// the ranks together load the batch one process would. With `pad`, a slice running past the
// end wraps around to the batch's start (every rank gets as many samples, as PyTorch's
// DistributedSampler pads); without it the last slices are short or empty.
std::vector<std::int64_t> shard_positions(std::int64_t begin, std::int64_t end, Shard shard,
                                          bool pad);

// The indices one rank visits in `epoch`:
// - random: a permutation drawn from (seed, epoch);
// - sequential: 0..N-1;
// - class_balanced: N draws, each a uniformly chosen class then a uniform sample of it
//   (with replacement), so every class is seen equally often;
// - square_root: as class_balanced, but class c chosen with probability ∝ sqrt(its size)
//   (Mahajan et al.'s square-root sampling, between instance- and class-balanced);
// the same on every rank (ranks split batches, shard_positions). With `repeats` r > 1 (random
// only): the first ⌈N/r⌉ indices of the permutation, each r times in a row, cut to N - DeiT's
// RASampler order (its ranks take every W-th entry, which over a global batch is the same set).
std::vector<std::int64_t> epoch_indices(const Dataset& dataset, SamplerKind kind,
                                        std::uint64_t seed, std::int64_t epoch,
                                        std::int64_t repeats = 1);

}  // namespace augcore::data

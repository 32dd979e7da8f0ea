// A small, portable, seedable random generator (xoshiro256**) with exactly specified draws.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace augcore::data {

// Same sequence on every platform and compiler, unlike std:: distributions.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  // A generator for one independent stream, keyed by e.g. (seed, stream id, epoch, index).
  static Rng derive(std::initializer_list<std::uint64_t> keys);

  std::uint64_t next();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi); requires lo < hi. Unbiased.
  std::int64_t randint(std::int64_t lo, std::int64_t hi);
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::uint64_t s_[4];
};

// Stream identifiers, so that different consumers of one seed never share draws.
enum class Stream : std::uint64_t {
  kSampleTransform = 1,
  kSampler = 2,
  kReplacement = 3,
  kTrainStep = 4,
  kObjective = 5,
  kModel = 6,       // LibTorch's default generators (dropout, drop-path), reseeded every step
  kEpisode = 7,     // few-shot episodes and their linear probes
  kUnlabelled = 8,  // semi-supervised training's unlabelled loader (order and weak/strong crops)
  kStrongView = 9,  // the batch policies of its strong view
};

}  // namespace augcore::data

#include "augcore/augment/policy.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "augcore/data/rng.h"

namespace augcore::augment {

at::Generator step_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t step,
                             data::Stream stream, int rank) {
  const auto s = static_cast<std::uint64_t>(stream);
  const auto e = static_cast<std::uint64_t>(epoch);
  const auto t = static_cast<std::uint64_t>(step);
  data::Rng rng = rank == 0 ? data::Rng::derive({seed, s, e, t})
                            : data::Rng::derive({seed, s, e, t, static_cast<std::uint64_t>(rank)});
  return at::make_generator<at::CPUGeneratorImpl>(rng.next());
}

}  // namespace augcore::augment

#include "augcore/augment/gate.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/core/error.h"

namespace augcore::augment {

void check_probability(double p, const std::string& owner) {
  if (!(p >= 0 && p <= 1)) throw OptionError(owner, "p", fmt::format("{} is outside [0, 1]", p));
}

at::Tensor draw_gate(double p, std::int64_t n, at::Generator& generator, GateScope scope) {
  if (scope == GateScope::kBatch) {
    return at::empty({1}, at::kDouble).bernoulli_(p, generator).to(at::kBool).expand({n});
  }
  return at::empty({n}, at::kDouble).bernoulli_(p, generator).to(at::kBool);
}

}  // namespace augcore::augment

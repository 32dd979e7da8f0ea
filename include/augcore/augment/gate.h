// Probability gating, the one place every policy with a `p` option checks and draws it.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace augcore::augment {

// Whether one draw decides for every image of the batch (timm's batch mixing) or each image
// has its own.
enum class GateScope { kImage, kBatch };

// Throws OptionError("<owner>.p: …") unless 0 ≤ p ≤ 1.
void check_probability(double p, const std::string& owner);

// Which of n images a policy acts on: a CPU bool tensor of n values, true with probability p
// (kImage: n Bernoulli draws from `generator`; kBatch: one draw repeated n times).
at::Tensor draw_gate(double p, std::int64_t n, at::Generator& generator,
                     GateScope scope = GateScope::kImage);

}  // namespace augcore::augment

#include "augcore/objective/criterion.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/core/error.h"

namespace augcore::objective {

Criterion::Criterion(CriterionKind kind, double label_smoothing)
    : kind_(kind), smoothing_(label_smoothing) {
  if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
    throw OptionError("Criterion", "label_smoothing",
                      fmt::format("{} is outside [0, 1]", label_smoothing));
  }
}

at::Tensor Criterion::operator()(const at::Tensor& logits, const at::Tensor& targets) const {
  const auto k = logits.size(-1);
  at::Tensor soft;
  if (targets.scalar_type() == at::kLong) {
    soft = at::full_like(logits, smoothing_ / k, logits.options().dtype(at::kFloat))
               .scatter_(1, targets.unsqueeze(1), 1.0 - smoothing_ + smoothing_ / k);
  } else {
    soft = targets.to(at::kFloat);
  }
  const at::Tensor z = logits.to(at::kFloat);
  if (binary()) return at::binary_cross_entropy_with_logits(z, soft);
  return -(soft * at::log_softmax(z, -1)).sum(-1).mean();
}

at::Tensor Criterion::probabilities(const at::Tensor& logits) const {
  return binary() ? at::sigmoid(logits) : at::softmax(logits, -1);
}

}  // namespace augcore::objective

#include "augcore/objective/criterion.h"

#include <ATen/ATen.h>

#include "augcore/core/error.h"

namespace augcore::objective {

Criterion::Criterion(std::string kind, double label_smoothing)
    : kind_(std::move(kind)), smoothing_(label_smoothing) {}

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
  if (kind_ == "bce") return at::binary_cross_entropy_with_logits(z, soft);
  return -(soft * at::log_softmax(z, -1)).sum(-1).mean();
}

at::Tensor Criterion::probabilities(const at::Tensor& logits) const {
  return kind_ == "bce" ? at::sigmoid(logits) : at::softmax(logits, -1);
}

config::Schema criterion_schema() {
  config::Schema s;
  s.add_choice("kind", "ce", {"ce", "bce"}, "cross-entropy, or binary cross-entropy per class");
  s.add_float("label_smoothing", 0.0, "label smoothing for hard targets").range(0, 1);
  s.add_bool("binary_targets", false,
             "bce: the batch's targets after mixing become 1 wherever > 0 (DeiT-III)");
  return s;
}

Criterion make_criterion(const config::Options& loss) {
  if (loss.boolean("binary_targets") && loss.string("kind") != "bce") {
    throw ConfigError(loss.path() + ".binary_targets: needs kind: bce");
  }
  return Criterion(loss.string("kind"), loss.real("label_smoothing"));
}

}  // namespace augcore::objective

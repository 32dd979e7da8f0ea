#include "augcore/objective/semi_supervised.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <cmath>

#include "augcore/core/error.h"

namespace augcore::objective {
namespace {

void check(const at::Tensor& weak, const at::Tensor& strong, double threshold, double weight,
           const char* owner) {
  if (weak.dim() != 2 || !weak.sizes().equals(strong.sizes())) {
    throw OptionError(owner, "logits", "weak and strong logits must both be N×K of one shape");
  }
  if (!(threshold >= 0 && threshold <= 1)) {
    throw OptionError(owner, "threshold", fmt::format("{} is outside [0, 1]", threshold));
  }
  if (!(weight >= 0)) {
    throw OptionError(owner, "weight", fmt::format("{} is negative", weight));
  }
}

}  // namespace

UnlabelledLoss fixmatch_loss(const at::Tensor& weak_logits, const at::Tensor& strong_logits,
                             const FixMatchOptions& options) {
  check(weak_logits, strong_logits, options.threshold(), options.weight(), "FixMatchOptions");
  UnlabelledLoss out;
  const at::Tensor probs = at::softmax(weak_logits.detach().to(at::kFloat), 1);
  const auto [confidence, pseudo] = probs.max(1);
  out.pseudo_labels = pseudo;
  out.mask = confidence.ge(options.threshold()).to(at::kFloat);
  const at::Tensor ce =
      at::cross_entropy_loss(strong_logits.to(at::kFloat), pseudo, {}, at::Reduction::None);
  out.loss = options.weight() * (ce * out.mask).mean();
  return out;
}

UnlabelledLoss uda_loss(const at::Tensor& weak_logits, const at::Tensor& strong_logits,
                        const UdaOptions& options) {
  check(weak_logits, strong_logits, options.threshold(), options.weight(), "UdaOptions");
  if (!(options.temperature() > 0)) {
    throw OptionError("UdaOptions", "temperature",
                      fmt::format("{} is not positive", options.temperature()));
  }
  UnlabelledLoss out;
  const at::Tensor weak = weak_logits.detach().to(at::kFloat);
  const auto [confidence, pseudo] = at::softmax(weak, 1).max(1);
  out.pseudo_labels = pseudo;
  out.mask = confidence.gt(options.threshold()).to(at::kFloat);
  const at::Tensor target_log = at::log_softmax(weak / options.temperature(), 1);
  const at::Tensor strong_log = at::log_softmax(strong_logits.to(at::kFloat), 1);
  const at::Tensor kl = (target_log.exp() * (target_log - strong_log)).sum(1);
  out.loss = options.weight() * (kl * out.mask).mean();
  return out;
}

double tsa_threshold(TsaSchedule schedule, double progress, std::int64_t num_classes) {
  if (num_classes < 1) {
    throw OptionError("tsa_threshold", "num_classes", std::to_string(num_classes) + " is below 1");
  }
  const double t = std::min(1.0, std::max(0.0, progress));
  const double alpha = schedule == TsaSchedule::kLinear ? t
                       : schedule == TsaSchedule::kLog  ? 1 - std::exp(-5 * t)
                                                        : std::exp(5 * (t - 1));
  const double start = 1.0 / static_cast<double>(num_classes);
  return alpha * (1 - start) + start;
}

at::Tensor annealed_cross_entropy(const at::Tensor& logits, const at::Tensor& labels,
                                  double threshold) {
  const at::Tensor ce =
      at::cross_entropy_loss(logits.to(at::kFloat), labels, {}, at::Reduction::None);
  const at::Tensor correct =
      at::softmax(logits.detach().to(at::kFloat), 1).gather(1, labels.unsqueeze(1)).squeeze(1);
  const at::Tensor keep = correct.le(threshold).to(at::kFloat);
  return (ce * keep).sum() / keep.sum().clamp_min(1.0);
}

}  // namespace augcore::objective

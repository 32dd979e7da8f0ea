#include "augcore/augment/batch.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/core/error.h"

namespace augcore::augment {

void check_images(const at::Tensor& images, const std::string& owner) {
  if (!images.defined()) throw OptionError(owner, "images", "undefined tensor");
  if (images.dim() != 4) {
    throw OptionError(owner, "images",
                      fmt::format("expected N×C×H×W, got {} dimensions", images.dim()));
  }
  if (!at::isFloatingType(images.scalar_type())) {
    throw OptionError(owner, "images",
                      fmt::format("expected float pixels in [0,1], got {}",
                                  std::string(c10::toString(images.scalar_type()))));
  }
  if (images.numel() == 0) throw OptionError(owner, "images", "empty batch");
}

void check_targets(const at::Tensor& targets, std::int64_t n, const std::string& owner) {
  if (!targets.defined()) throw OptionError(owner, "targets", "undefined tensor");
  const bool labels = targets.dim() == 1 && targets.scalar_type() == at::kLong;
  const bool soft = targets.dim() == 2 && at::isFloatingType(targets.scalar_type());
  if (!labels && !soft) {
    throw OptionError(owner, "targets", "expected int64 N labels or float N×K probabilities");
  }
  if (targets.size(0) != n) {
    throw OptionError(owner, "targets",
                      fmt::format("{} targets for {} images", targets.size(0), n));
  }
}

at::Tensor channel_tensor(const std::vector<double>& values, const at::Tensor& like,
                          const std::string& owner, const std::string& option) {
  const auto channels = like.size(1);
  const auto count = static_cast<std::int64_t>(values.size());
  if (count != 1 && count != channels) {
    throw OptionError(owner, option,
                      fmt::format("{} values for {}-channel images", count, channels));
  }
  at::Tensor t = at::tensor(std::vector<float>(values.begin(), values.end()), at::kFloat);
  if (count == 1) t = t.expand({channels}).contiguous();
  return t.view({1, channels, 1, 1}).to(like.device(), like.scalar_type());
}

at::Tensor like_input(const at::Tensor& out, const at::Tensor& like) {
  return out.to(like.scalar_type()).contiguous(like.suggest_memory_format());
}

at::Tensor in_float(const at::Tensor& images,
                    const std::function<at::Tensor(const at::Tensor&)>& f) {
  const bool reduced = images.scalar_type() == at::kHalf || images.scalar_type() == at::kBFloat16;
  return like_input(f(reduced ? images.to(at::kFloat) : images), images);
}

}  // namespace augcore::augment

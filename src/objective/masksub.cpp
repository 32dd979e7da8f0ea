#include "augcore/objective/masksub.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <cmath>

#include "augcore/augment/batch.h"
#include "augcore/core/error.h"

namespace augcore::objective {

at::Tensor random_kept_tokens(std::int64_t n, std::int64_t patches, double ratio,
                              at::Generator& generator) {
  const auto keep =
      static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * (1 - ratio)));
  return at::rand({n, patches}, generator).argsort(1, false).narrow(1, 0, keep);
}

at::Tensor random_cell_mask(std::int64_t n, std::int64_t height, std::int64_t width,
                            std::int64_t cell, double ratio, at::Generator& generator) {
  const auto gh = height / cell, gw = width / cell, cells = gh * gw;
  const auto masked = static_cast<std::int64_t>(std::floor(static_cast<double>(cells) * ratio));
  const at::Tensor chosen = at::rand({n, cells}, generator).argsort(1, false).narrow(1, 0, masked);
  const at::Tensor grid = at::zeros({n, cells}).scatter_(1, chosen, 1.0).view({n, 1, gh, gw});
  return grid.repeat_interleave(cell, 2).repeat_interleave(cell, 3);
}

at::Tensor random_unit_mask(std::int64_t n, std::int64_t rows, std::int64_t cols, double ratio,
                            at::Generator& generator) {
  const auto units = rows * cols;
  const auto kept = static_cast<std::int64_t>(static_cast<double>(units) * (1 - ratio));
  const at::Tensor chosen =
      at::rand({n, units}, generator).argsort(1, false).narrow(1, 0, units - kept);
  return at::zeros({n, units}).scatter_(1, chosen, 1.0).view({n, rows, cols});
}

namespace {

void check_logits(const at::Tensor& logits, std::int64_t n, const char* which) {
  if (!logits.defined() || logits.dim() != 2 || logits.size(0) != n) {
    throw OptionError("MaskSubModel", which,
                      fmt::format("returned {} for {} images; expected N×K logits",
                                  logits.defined() ? c10::str(logits.sizes()) : "nothing", n));
  }
}

}  // namespace

MaskSub::MaskSub(MaskSubOptions options, Criterion criterion, Probabilities probabilities)
    : options_(options),
      criterion_(std::move(criterion)),
      probabilities_(std::move(probabilities)) {
  if (!criterion_) throw OptionError("MaskSub", "criterion", "no criterion given");
  if (!probabilities_) probabilities_ = [](const at::Tensor& z) { return at::softmax(z, -1); };
  if (!(options_.ratio() >= 0 && options_.ratio() <= 0.99)) {
    throw OptionError("MaskSubOptions", "ratio",
                      fmt::format("{} is outside [0, 0.99]", options_.ratio()));
  }
  for (const auto& [name, v] :
       {std::pair<const char*, double>{"weight_main", options_.weight_main()},
        {"weight_sub", options_.weight_sub()}}) {
    if (!(v >= 0)) throw OptionError("MaskSubOptions", name, fmt::format("{} is negative", v));
  }
  if (options_.cell() < 1) {
    throw OptionError("MaskSubOptions", "cell", fmt::format("{} is below 1", options_.cell()));
  }
}

at::Tensor MaskSub::sub_logits(const MaskSubModel& model, const at::Tensor& images,
                               at::Generator& generator) const {
  const auto n = images.size(0);
  if (options_.variant() != MaskSubVariant::kMask) {
    if (!model.rate_forward) {
      throw OptionError("MaskSubModel", "rate_forward",
                        "the dropout and drop-path variants need a forward at a given rate");
    }
    const at::Tensor z = model.rate_forward(images, options_.ratio());
    check_logits(z, n, "rate_forward");
    return z;
  }
  if (model.kept_forward) {
    if (model.num_patches < 1) {
      throw OptionError("MaskSubModel", "num_patches", "kept_forward needs the patch count");
    }
    const at::Tensor keep =
        random_kept_tokens(n, model.num_patches, options_.ratio(), generator).to(images.device());
    const at::Tensor z = model.kept_forward(images, keep);
    check_logits(z, n, "kept_forward");
    return z;
  }
  if (model.token_mask_forward) {
    if (model.mask_rows < 1 || model.mask_cols < 1) {
      throw OptionError("MaskSubModel", "mask_rows", "token_mask_forward needs the unit grid");
    }
    const at::Tensor masked =
        random_unit_mask(n, model.mask_rows, model.mask_cols, options_.ratio(), generator);
    const at::Tensor z = model.token_mask_forward(images, masked.to(images.device()));
    check_logits(z, n, "token_mask_forward");
    return z;
  }
  const auto h = images.size(2), w = images.size(3), cell = options_.cell();
  if (h % cell != 0 || w % cell != 0) {
    throw OptionError("MaskSubOptions", "cell",
                      fmt::format("{}-pixel cells do not tile {}×{} images", cell, h, w));
  }
  const at::Tensor mask = random_cell_mask(n, h, w, cell, options_.ratio(), generator)
                              .to(images.device(), images.scalar_type());
  const at::Tensor z = model.forward(images * (1 - mask));  // zero = the mean, normalised
  check_logits(z, n, "forward");
  return z;
}

MaskSubLoss MaskSub::after_main(const MaskSubModel& model, const at::Tensor& images,
                                const at::Tensor& main_logits, const at::Tensor& main_loss,
                                at::Generator generator, const Backward& backward) const {
  augment::check_images(images, "MaskSub");
  // The sub-model learns the main model's predictions; no gradient flows into them.
  const at::Tensor soft = probabilities_(main_logits.detach());
  const at::Tensor main_part = options_.weight_main() * main_loss;
  if (backward) backward(main_part);  // frees the main graph before the sub pass
  const at::Tensor sub_loss = criterion_(sub_logits(model, images, generator), soft);
  const at::Tensor sub_part = options_.weight_sub() * sub_loss;
  MaskSubLoss r;
  r.logits = main_logits;
  r.main_loss = main_loss.detach();
  r.sub_loss = sub_loss.detach();
  if (backward) {
    r.loss = main_part.detach() + sub_part.detach();
    r.to_backward = sub_part;
  } else {
    r.loss = main_part + sub_part;
    r.to_backward = r.loss;
  }
  return r;
}

MaskSubLoss MaskSub::operator()(const MaskSubModel& model, const at::Tensor& images,
                                const at::Tensor& targets, at::Generator generator,
                                const Backward& backward) const {
  augment::check_images(images, "MaskSub");
  if (!model.forward) throw OptionError("MaskSubModel", "forward", "no forward given");
  const at::Tensor logits = model.forward(images);
  check_logits(logits, images.size(0), "forward");
  return after_main(model, images, logits, criterion_(logits, targets), generator, backward);
}

}  // namespace augcore::objective

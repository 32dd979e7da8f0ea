#include "augcore/augment/keep.h"

#include <ATen/ATen.h>

#include <limits>

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/erase.h"
#include "augcore/augment/mix.h"
#include "augcore/core/error.h"

namespace augcore::augment {

at::Tensor box_scores(const at::Tensor& saliency, const at::Tensor& heights,
                      const at::Tensor& widths, Placement placement) {
  const auto n = saliency.size(0), h = saliency.size(1), w = saliency.size(2);
  const at::Tensor s = saliency.to(at::kDouble);
  // Integral image with a zero first row and column: I[y][x] = sum of s[:y, :x].
  const at::Tensor integral = at::constant_pad_nd(s.cumsum(1).cumsum(2), {1, 0, 1, 0}, 0);
  const auto opts = heights.options();
  const at::Tensor rows = at::arange(h, opts).view({1, h, 1});
  const at::Tensor cols = at::arange(w, opts).view({1, 1, w});
  const at::Tensor bh = heights.view({-1, 1, 1}), bw = widths.view({-1, 1, 1});
  at::Tensor y0, y1, x0, x1;
  if (placement == Placement::kCentered) {
    y0 = (rows - at::floor_divide(bh, 2)).clamp(0, h);
    y1 = (rows + at::floor_divide(bh, 2)).clamp(0, h);
    x0 = (cols - at::floor_divide(bw, 2)).clamp(0, w);
    x1 = (cols + at::floor_divide(bw, 2)).clamp(0, w);
  } else {
    y0 = rows;
    y1 = (rows + bh).clamp_max(h);
    x0 = cols;
    x1 = (cols + bw).clamp_max(w);
  }
  const at::Tensor flat = integral.view({n, (h + 1) * (w + 1)});
  auto at_corner = [&](const at::Tensor& y, const at::Tensor& x) {
    const at::Tensor index = (y * (w + 1) + x).expand({n, h, w}).reshape({n, h * w});
    return flat.gather(1, index).view({n, h, w});
  };
  at::Tensor scores = at_corner(y1, x1) - at_corner(y0, x1) - at_corner(y1, x0) + at_corner(y0, x0);
  if (placement == Placement::kInside) {
    scores.masked_fill_(valid_positions(heights, widths, placement, h, w).logical_not(), 0);
  }
  return scores;
}

at::Tensor score_threshold(const at::Tensor& scores, const at::Tensor& valid, double quantile) {
  const at::Tensor masked =
      scores.masked_fill(valid.logical_not(), std::numeric_limits<double>::quiet_NaN());
  return at::nanquantile(masked.flatten(1), quantile, 1, false, "linear");
}

at::Tensor choose_positions(const at::Tensor& scores, const at::Tensor& valid,
                            const at::Tensor& threshold, bool important, at::Generator& generator) {
  const auto n = scores.size(0), w = scores.size(2);
  const at::Tensor tau = threshold.view({-1, 1, 1});
  at::Tensor allowed = valid.logical_and(important ? scores.gt(tau) : scores.lt(tau));
  const at::Tensor relaxed = valid.logical_and(important ? scores.ge(tau) : scores.le(tau));
  const at::Tensor none = allowed.flatten(1).any(1).logical_not().view({-1, 1, 1});
  allowed = at::where(none, relaxed, allowed);
  // One uniform draw per image picks the k-th allowed position (k = floor(u · count)).
  const at::Tensor running = allowed.flatten(1).to(at::kLong).cumsum(1);
  const at::Tensor count = running.select(1, running.size(1) - 1);
  const at::Tensor u = at::rand({n}, generator, at::kDouble).to(scores.device());
  const at::Tensor k =
      at::minimum((u * count.to(at::kDouble)).floor().to(at::kLong), (count - 1).clamp_min(0));
  const at::Tensor index = running.le(k.view({-1, 1})).sum(1).clamp_max(running.size(1) - 1);
  return at::stack({at::floor_divide(index, w), index.remainder(w)}, 1);
}

Keep::Keep(KeepOptions options, const PolicySetup& setup) : options_(options) {
  mean_ = channel_values(setup.mean, setup.channels, setup.device);
  std_ = channel_values(setup.std, setup.channels, setup.device);
}

at::Tensor Keep::saliency(const PolicyBatch& batch, StepContext& context) const {
  if (context.model == nullptr) throw std::logic_error("KeepAugment needs the classifier");
  return saliency_map(*context.model, batch.images, batch.targets, mean_, std_, options_.saliency);
}

at::Tensor Keep::positions(const at::Tensor& saliency, const at::Tensor& heights,
                           const at::Tensor& widths, Placement placement, bool important,
                           at::Generator& generator) const {
  const auto h = saliency.size(1), w = saliency.size(2);
  const at::Tensor hs = heights.to(saliency.device()), ws = widths.to(saliency.device());
  const at::Tensor scores = box_scores(saliency, hs, ws, placement);
  const at::Tensor valid = valid_positions(hs, ws, placement, h, w);
  const at::Tensor tau = score_threshold(scores, valid, options_.quantile);
  return choose_positions(scores, valid, tau, important, generator);
}

at::Tensor cut_positions(const Keep* keep, const PolicyBatch& batch, StepContext& context,
                         const at::Tensor& heights, const at::Tensor& widths, Placement placement) {
  const auto h = batch.images.size(2), w = batch.images.size(3);
  if (keep == nullptr) {
    return uniform_positions(heights, widths, placement, h, w, context.generator)
        .to(batch.images.device());
  }
  return keep->positions(keep->saliency(batch, context), heights, widths, placement, false,
                         context.generator);
}

namespace {

config::Schema with_keep_options(config::Schema s) {
  s.add_choice("saliency", "full", {"full", "low_res", "early_head"},
               "saliency map: full resolution, ×0.5 resolution, or the model's early head");
  s.add_float("quantile", 0.6, "τ = this quantile of an image's region scores").range(0, 1);
  return s;
}

std::shared_ptr<const Keep> make_keep(const config::Options& o, const PolicySetup& setup) {
  KeepOptions k;
  k.saliency = parse_saliency_method(o.string("saliency"));
  k.quantile = o.real("quantile");
  if (k.saliency == SaliencyMethod::kEarlyHead &&
      (setup.model == nullptr || !setup.model->has_early_head())) {
    throw ConfigError(o.path() +
                      ".saliency: early_head needs a model with `early_head: true` (ResNets)");
  }
  return std::make_shared<const Keep>(k, setup);
}

template <typename Factory>
bool register_keep(const std::string& name, const std::string& doc, config::Schema base,
                   Factory factory) {
  return config::register_component(
      "policy", name, doc, with_keep_options(std::move(base)),
      PolicyFactory([factory](const config::Options& o, const PolicySetup& setup) {
        return factory(o, setup, make_keep(o, setup));
      }));
}

const bool registered =
    register_keep("keep_cutout", "Cutout placed where the image is unimportant (KeepCutout)",
                  cutout_schema(), make_cutout) &&
    register_keep("keep_random_erasing", "random erasing placed where the image is unimportant",
                  random_erasing_schema(), make_random_erasing) &&
    register_keep("keep_cutmix", "CutMix whose box lands where the receiving image is unimportant",
                  cutmix_schema(), make_cutmix) &&
    register_keep("keep_autoaugment",
                  "AutoAugment, then an important region of the clean image pasted back",
                  with_paste_length(autoaugment_schema()), make_autoaugment) &&
    register_keep("keep_randaugment",
                  "RandAugment, then an important region of the clean image pasted back",
                  with_paste_length(randaugment_schema()), make_randaugment);

}  // namespace
}  // namespace augcore::augment

#include "augcore/augment/keep.h"

#include <ATen/ATen.h>

#include <limits>

#include <fmt/core.h>

#include "augcore/augment/batch.h"
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

Keep::Keep(SaliencyFn saliency, KeepOptions options, std::string owner)
    : saliency_(std::move(saliency)), options_(options), owner_(std::move(owner)) {
  if (!saliency_) throw OptionError(owner_, "saliency", "no saliency source given");
  if (!(options_.quantile() >= 0 && options_.quantile() <= 1)) {
    throw OptionError("KeepOptions", "quantile",
                      fmt::format("{} is outside [0, 1]", options_.quantile()));
  }
}

at::Tensor Keep::saliency(const at::Tensor& images, const at::Tensor& targets,
                          const at::Tensor& given) const {
  // The targets are checked before the saliency function reads them.
  if (!given.defined() && targets.defined()) check_targets(targets, images.size(0), owner_);
  const at::Tensor map = given.defined() ? given : saliency_(images, targets);
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  if (!map.defined() || map.dim() != 3 || map.size(0) != n || map.size(1) != h ||
      map.size(2) != w) {
    throw OptionError(owner_, "saliency",
                      fmt::format("the map is {}, the images need {}×{}×{}",
                                  map.defined() ? c10::str(map.sizes()) : "undefined", n, h, w));
  }
  return map.to(images.device());
}

at::Tensor Keep::positions(const at::Tensor& saliency, const at::Tensor& heights,
                           const at::Tensor& widths, Placement placement, bool important,
                           at::Generator& generator) const {
  const auto h = saliency.size(1), w = saliency.size(2);
  const at::Tensor hs = heights.to(saliency.device()), ws = widths.to(saliency.device());
  at::Tensor scores = box_scores(saliency, hs, ws, placement);
  if (options_.mean_score()) {
    scores = scores / box_scores(at::ones_like(saliency), hs, ws, placement).clamp_min(1);
  }
  const at::Tensor valid = valid_positions(hs, ws, placement, h, w);
  const at::Tensor tau = score_threshold(scores, valid, options_.quantile());
  return choose_positions(scores, valid, tau, important, generator);
}

at::Tensor cut_positions(const Keep* keep, const at::Tensor& saliency, const at::Tensor& images,
                         const at::Tensor& heights, const at::Tensor& widths, Placement placement,
                         at::Generator& generator) {
  if (keep == nullptr) {
    return uniform_positions(heights, widths, placement, images.size(2), images.size(3), generator)
        .to(images.device());
  }
  return keep->positions(saliency, heights, widths, placement, false, generator);
}

}  // namespace augcore::augment

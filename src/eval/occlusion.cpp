#include "augcore/eval/occlusion.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace augcore::eval {

std::pair<std::int64_t, std::int64_t> hole_origin(std::int64_t h, std::int64_t w, std::int64_t s) {
  return {std::max<std::int64_t>(0, (h - s) / 2), std::max<std::int64_t>(0, (w - s) / 2)};
}

at::Tensor occlude_outside_centre(const at::Tensor& pixels, std::int64_t s,
                                  const std::vector<double>& fill) {
  if (pixels.dim() != 4) throw std::invalid_argument("occlusion: images must be N×C×H×W");
  if (s < 0) throw std::invalid_argument("occlusion: hole size " + std::to_string(s) + " < 0");
  const auto c = pixels.size(1), h = pixels.size(2), w = pixels.size(3);
  if (fill.size() != 1 && static_cast<std::int64_t>(fill.size()) != c) {
    throw std::invalid_argument("occlusion: fill has " + std::to_string(fill.size()) +
                                " values for " + std::to_string(c) + " channels");
  }
  at::Tensor value = at::tensor(fill, at::kDouble).to(pixels.options()).reshape({1, -1, 1, 1});
  at::Tensor out = value.expand_as(pixels).clone(pixels.suggest_memory_format());
  const auto [top, left] = hole_origin(h, w, s);
  const auto sh = std::min(s, h), sw = std::min(s, w);
  if (sh > 0 && sw > 0) {
    out.slice(2, top, top + sh)
        .slice(3, left, left + sw)
        .copy_(pixels.slice(2, top, top + sh).slice(3, left, left + sw));
  }
  return out;
}

std::vector<std::int64_t> hole_sizes(std::int64_t image_size, std::int64_t steps) {
  std::vector<std::int64_t> out;
  for (std::int64_t k = 0; k <= steps; ++k) {
    const std::int64_t s = image_size * k / steps;
    if (out.empty() || out.back() != s) out.push_back(s);
  }
  return out;
}

}  // namespace augcore::eval

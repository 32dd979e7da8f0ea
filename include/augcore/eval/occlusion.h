// CutMix's occlusion test: everything outside a centred square hole of side s is filled.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace augcore::eval {

// The top-left corner of a centred s×s hole in an h×w image: ((h − s) / 2, (w − s) / 2),
// rounded down.
std::pair<std::int64_t, std::int64_t> hole_origin(std::int64_t h, std::int64_t w, std::int64_t s);

// `pixels` (N×C×H×W, any float dtype and device) with every pixel outside the centred s×s
// hole set to `fill` (one value, or one per channel). s = 0 leaves a constant image, s ≥ the
// image size leaves it unchanged. Throws std::invalid_argument for s < 0 or a fill of the wrong
// length.
at::Tensor occlude_outside_centre(const at::Tensor& pixels, std::int64_t s,
                                  const std::vector<double>& fill);

// Hole sides 0, S/k, 2S/k, …, S (rounded down, duplicates dropped) for an S-pixel image.
std::vector<std::int64_t> hole_sizes(std::int64_t image_size, std::int64_t steps);

}  // namespace augcore::eval

// Region-erasing batch policies: Cutout (DeVries & Taylor) and random erasing (timm's
// semantics), optionally KeepAugment-placed (keep.h registers keep_cutout and
// keep_random_erasing from these).
#pragma once

#include <memory>

#include "augcore/augment/policy.h"

namespace augcore::augment {

class Keep;

// Options of `cutout`: length, p.
config::Schema cutout_schema();
// Options of `random_erasing`: probability, area, aspect, mode, count.
config::Schema random_erasing_schema();

std::unique_ptr<BatchPolicy> make_cutout(const config::Options& options, const PolicySetup& setup,
                                         std::shared_ptr<const Keep> keep);
std::unique_ptr<BatchPolicy> make_random_erasing(const config::Options& options,
                                                 const PolicySetup& setup,
                                                 std::shared_ptr<const Keep> keep);

// Random-erasing box sizes, as timm draws them: per image, up to 10 attempts of area
// U(area)·H·W/count (`counts`: the image's number of boxes) and aspect exp(U(log aspect));
// the first attempt with h < H and w < W wins. Returns int64 N×2 (h, w); (0, 0) where no
// attempt fits.
at::Tensor erasing_sizes(std::int64_t height, std::int64_t width, std::pair<double, double> area,
                         std::pair<double, double> aspect, const at::Tensor& counts,
                         at::Generator& generator);

}  // namespace augcore::augment

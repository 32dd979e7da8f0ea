// MaskSub (Heo et al., "Masking Augmentation for Supervised Learning"): a sub-model pass on
// a masked input, sharing the main model's weights, trained toward the main pass's detached
// predictions. Registered as the objective `masksub`.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace augcore::objective {

// The patch tokens a ViT's sub pass keeps: per image, a random floor(L·(1−ratio)) of the L
// indices (argsort of uniform noise, as MAE masks). int64 N×K on the CPU.
at::Tensor random_kept_tokens(std::int64_t n, std::int64_t patches, double ratio,
                              at::Generator& generator);

// A CNN's sub-pass mask: per image, exactly floor(L·ratio) random cells of the cell×cell
// grid (L cells) are 1 (masked), the rest 0. Float N×1×H×W on the CPU; `cell` divides H, W.
at::Tensor random_cell_mask(std::int64_t n, std::int64_t height, std::int64_t width,
                            std::int64_t cell, double ratio, at::Generator& generator);

}  // namespace augcore::objective

// Rectangular regions of a batch: box geometry shared by Cutout, random erasing, CutMix and
// KeepAugment, as per-image tensors (no per-image loops).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace augcore::augment {

// How a box of size h×w relates to its position (row, col):
// - kCentered: the box is [row - h/2, row + h/2) × [col - w/2, col + w/2) (integer halves),
//   clipped to the image; every pixel is a position (Cutout, CutMix).
// - kInside: the box is [row, row + h) × [col, col + w), wholly inside the image; positions
//   are rows 0..H-h and cols 0..W-w (random erasing).
enum class Placement { kCentered, kInside };

// Box corners, each an int64 tensor of N: rows [y0, y1), cols [x0, x1).
struct Boxes {
  at::Tensor y0, y1, x0, x1;
  at::Tensor area() const;  // int64 N, after clipping
};

// The boxes of sizes `heights`×`widths` (int64 N) at positions `rows`, `cols` (int64 N).
Boxes boxes_at(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& heights,
               const at::Tensor& widths, Placement placement, std::int64_t height,
               std::int64_t width);

// `boxes` with the boxes of images where `keep` (bool N) is false made empty.
Boxes empty_unless(const Boxes& boxes, const at::Tensor& keep);

// Bool N×1×H×W, true inside each image's box, on `boxes`' device.
at::Tensor box_mask(const Boxes& boxes, std::int64_t height, std::int64_t width);

// Uniform positions (int64 N×2: row, col) over each image's valid positions.
at::Tensor uniform_positions(const at::Tensor& heights, const at::Tensor& widths,
                             Placement placement, std::int64_t height, std::int64_t width,
                             at::Generator& generator);

// Valid positions for each image's box, bool N×H×W.
at::Tensor valid_positions(const at::Tensor& heights, const at::Tensor& widths, Placement placement,
                           std::int64_t height, std::int64_t width);

}  // namespace augcore::augment

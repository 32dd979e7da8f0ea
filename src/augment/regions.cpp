#include "augcore/augment/regions.h"

#include <ATen/ATen.h>

namespace augcore::augment {

at::Tensor Boxes::area() const {
  return (y1 - y0) * (x1 - x0);
}

Boxes boxes_at(const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& heights,
               const at::Tensor& widths, Placement placement, std::int64_t height,
               std::int64_t width) {
  if (placement == Placement::kInside) return {rows, rows + heights, cols, cols + widths};
  const at::Tensor hh = at::floor_divide(heights, 2), hw = at::floor_divide(widths, 2);
  return {(rows - hh).clamp(0, height), (rows + hh).clamp(0, height), (cols - hw).clamp(0, width),
          (cols + hw).clamp(0, width)};
}

Boxes empty_unless(const Boxes& boxes, const at::Tensor& keep) {
  return {boxes.y0, at::where(keep, boxes.y1, boxes.y0), boxes.x0,
          at::where(keep, boxes.x1, boxes.x0)};
}

at::Tensor box_mask(const Boxes& boxes, std::int64_t height, std::int64_t width) {
  const auto opts = boxes.y0.options();
  const at::Tensor r = at::arange(height, opts).view({1, height});
  const at::Tensor c = at::arange(width, opts).view({1, width});
  const at::Tensor in_rows = r.ge(boxes.y0.view({-1, 1})).logical_and(r.lt(boxes.y1.view({-1, 1})));
  const at::Tensor in_cols = c.ge(boxes.x0.view({-1, 1})).logical_and(c.lt(boxes.x1.view({-1, 1})));
  return in_rows.unsqueeze(2).logical_and(in_cols.unsqueeze(1)).unsqueeze(1);
}

at::Tensor uniform_positions(const at::Tensor& heights, const at::Tensor& widths,
                             Placement placement, std::int64_t height, std::int64_t width,
                             at::Generator& generator) {
  const auto n = heights.size(0);
  at::Tensor span_r = at::full({n}, height, at::kLong), span_c = at::full({n}, width, at::kLong);
  if (placement == Placement::kInside) {
    span_r = (height - heights.cpu() + 1).clamp_min(1);
    span_c = (width - widths.cpu() + 1).clamp_min(1);
  }
  const at::Tensor u = at::rand({n, 2}, generator, at::kDouble);
  const at::Tensor rows = (u.select(1, 0) * span_r).floor().to(at::kLong).min(span_r - 1);
  const at::Tensor cols = (u.select(1, 1) * span_c).floor().to(at::kLong).min(span_c - 1);
  return at::stack({rows, cols}, 1).to(heights.device());
}

at::Tensor valid_positions(const at::Tensor& heights, const at::Tensor& widths, Placement placement,
                           std::int64_t height, std::int64_t width) {
  const auto n = heights.size(0);
  const auto opts = at::TensorOptions().dtype(at::kBool).device(heights.device());
  if (placement == Placement::kCentered) return at::ones({n, height, width}, opts);
  const at::Tensor r = at::arange(height, heights.options()).view({1, height, 1});
  const at::Tensor c = at::arange(width, heights.options()).view({1, 1, width});
  return r.le((height - heights).view({-1, 1, 1}))
      .logical_and(c.le((width - widths).view({-1, 1, 1})));
}

}  // namespace augcore::augment

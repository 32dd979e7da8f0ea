#include "augcore/augment/image_ops.h"

#include <ATen/ATen.h>

#include <cmath>

namespace augcore::augment::ops {
namespace {

at::Tensor per_image(const at::Tensor& v, const at::Tensor& images) {
  return v.to(images.device(), images.scalar_type()).view({-1, 1, 1, 1});
}

at::Tensor blend(const at::Tensor& a, const at::Tensor& b, const at::Tensor& factor) {
  const at::Tensor f = per_image(factor, a);
  return (f * a + (1 - f) * b).clamp_(0, 1);
}

at::Tensor grey(const at::Tensor& images) {
  return 0.2989 * images.select(1, 0).unsqueeze(1) + 0.587 * images.select(1, 1).unsqueeze(1) +
         0.114 * images.select(1, 2).unsqueeze(1);
}

at::Tensor to_levels(const at::Tensor& images) {
  return (images * 255).round_().clamp_(0, 255);
}

}  // namespace

Affine Affine::identity(std::int64_t n) {
  const at::Tensor z = at::zeros({n}, at::kDouble);
  return {z, z, z, z, z, z, z};
}

at::Tensor inverse_affine_matrix(const Affine& a) {
  const double deg = M_PI / 180.0;
  const at::Tensor rot = a.angle * deg, sx = a.shear_x * deg, sy = a.shear_y * deg;
  const at::Tensor ma = at::cos(rot - sy) / at::cos(sy);
  const at::Tensor mb = -at::cos(rot - sy) * at::tan(sx) / at::cos(sy) - at::sin(rot);
  const at::Tensor mc = at::sin(rot - sy) / at::cos(sy);
  const at::Tensor md = -at::sin(rot - sy) * at::tan(sx) / at::cos(sy) + at::cos(rot);
  // Inverse of the rotation-shear part (determinant 1), then of translation and centre.
  const at::Tensor m0 = md, m1 = -mb, m3 = -mc, m4 = ma;
  const at::Tensor ox = -a.center_x - a.translate_x, oy = -a.center_y - a.translate_y;
  const at::Tensor m2 = m0 * ox + m1 * oy + a.center_x;
  const at::Tensor m5 = m3 * ox + m4 * oy + a.center_y;
  return at::stack({m0, m1, m2, m3, m4, m5}, 1).view({-1, 2, 3});
}

at::Tensor warp_affine(const at::Tensor& images, const at::Tensor& inverse_matrices,
                       Interpolation interpolation, const at::Tensor& fill) {
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const auto opts = images.options();
  // torchvision's _gen_affine_grid: pixel-centre coordinates relative to the image centre.
  const at::Tensor xs = at::linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w, opts);
  const at::Tensor ys = at::linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h, opts);
  const at::Tensor base = at::stack({xs.view({1, w}).expand({h, w}), ys.view({h, 1}).expand({h, w}),
                                     at::ones({h, w}, opts)},
                                    2)
                              .view({1, h * w, 3})
                              .expand({n, h * w, 3});
  const at::Tensor theta = inverse_matrices.to(images.device(), images.scalar_type());
  const at::Tensor scale = at::tensor({0.5f * static_cast<float>(w), 0.5f * static_cast<float>(h)})
                               .to(images.device(), images.scalar_type());
  const at::Tensor grid = at::bmm(base, theta.transpose(1, 2) / scale).view({n, h, w, 2});
  const bool nearest = interpolation == Interpolation::kNearest;
  const at::Tensor sampled = at::grid_sampler(at::cat({images, at::ones({n, 1, h, w}, opts)}, 1),
                                              grid, nearest ? 1 : 0, 0, false);
  const at::Tensor out = sampled.narrow(1, 0, c);
  const at::Tensor mask = sampled.narrow(1, c, 1).expand_as(out);
  const at::Tensor f =
      fill.to(images.device(), images.scalar_type()).view({1, -1, 1, 1}).expand_as(out);
  if (nearest) return at::where(mask.lt(0.5), f, out);
  return out * mask + (1 - mask) * f;
}

at::Tensor brightness(const at::Tensor& images, const at::Tensor& factor) {
  return (per_image(factor, images) * images).clamp_(0, 1);
}

at::Tensor saturation(const at::Tensor& images, const at::Tensor& factor) {
  if (images.size(1) != 3) return images;
  return blend(images, grey(images), factor);
}

at::Tensor contrast(const at::Tensor& images, const at::Tensor& factor) {
  const at::Tensor g = images.size(1) == 3 ? grey(images) : images;
  return blend(images, g.mean({1, 2, 3}, true), factor);
}

at::Tensor sharpness(const at::Tensor& images, const at::Tensor& factor) {
  const auto c = images.size(1), h = images.size(2), w = images.size(3);
  if (h <= 2 || w <= 2) return images;
  at::Tensor kernel = at::ones({3, 3}, images.options());
  kernel[1][1] = 5.0;
  kernel = (kernel / 13.0).expand({c, 1, 3, 3});
  at::Tensor blurred = images.clone();
  const std::vector<std::int64_t> one{1, 1}, none{0, 0};
  blurred.narrow(2, 1, h - 2)
      .narrow(3, 1, w - 2)
      .copy_(at::conv2d(images, kernel, at::Tensor(), one, at::IntArrayRef(none), one, c));
  return blend(images, blurred, factor);
}

at::Tensor posterize(const at::Tensor& images, const at::Tensor& bits) {
  const at::Tensor step = at::pow(2.0, 8 - per_image(bits, images));
  return (at::floor(to_levels(images) / step) * step) / 255.0;
}

at::Tensor solarize(const at::Tensor& images, const at::Tensor& threshold) {
  return at::where(images.ge(per_image(threshold, images)), 1 - images, images);
}

at::Tensor solarize_add(const at::Tensor& images, const at::Tensor& amount, double threshold) {
  return at::where(images.lt(threshold), (images + per_image(amount, images)).clamp_max(1), images);
}

at::Tensor autocontrast(const at::Tensor& images) {
  at::Tensor lo = images.amin({2, 3}, true), hi = images.amax({2, 3}, true);
  at::Tensor scale = 1.0 / (hi - lo);
  const at::Tensor flat = scale.isfinite().logical_not();
  lo = lo.masked_fill(flat, 0);
  scale = scale.masked_fill(flat, 1);
  return ((images - lo) * scale).clamp_(0, 1);
}

at::Tensor equalize(const at::Tensor& images) {
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const at::Tensor levels = to_levels(images).to(at::kLong).view({n * c, h * w});
  const at::Tensor hist =
      at::zeros({n * c, 256}, levels.options()).scatter_add_(1, levels, at::ones_like(levels));
  // The count of the highest occupied level: torchvision leaves it out of the step.
  const at::Tensor idx = at::arange(256, levels.options()).view({1, 256});
  const at::Tensor top = at::where(hist.gt(0), idx, at::zeros_like(idx)).amax(1, true);
  const at::Tensor step = at::floor_divide(h * w - hist.gather(1, top), 255);
  const at::Tensor safe = step.clamp_min(1);
  at::Tensor lut = at::floor_divide(hist.cumsum(1) + at::floor_divide(safe, 2), safe);
  lut = at::cat({at::zeros({n * c, 1}, lut.options()), lut.narrow(1, 0, 255)}, 1).clamp_(0, 255);
  const at::Tensor mapped = lut.gather(1, levels);
  const at::Tensor out = at::where(step.eq(0), levels, mapped);
  return (out.to(images.scalar_type()) / 255.0).view({n, c, h, w});
}

at::Tensor invert(const at::Tensor& images) {
  return 1 - images;
}

at::Tensor grayscale(const at::Tensor& images) {
  if (images.size(1) != 3) return images;
  return grey(images).expand_as(images).contiguous();
}

std::int64_t blur_kernel_size(double sigma) {
  return 2 * static_cast<std::int64_t>(std::ceil(3 * sigma)) + 1;
}

at::Tensor gaussian_blur(const at::Tensor& images, const at::Tensor& sigma) {
  const auto n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const at::Tensor s = sigma.to(at::kCPU, at::kDouble).contiguous();
  // Each image's torchvision kernel (side k_i), centred in a common side K with zero weights
  // around it: reflect padding by K/2 gives the same sums as padding by k_i/2.
  std::int64_t side = 1;
  for (std::int64_t i = 0; i < n; ++i)
    side = std::max(side, blur_kernel_size(s[i].item<double>()));
  const std::int64_t limit = 2 * (std::min(h, w) - 1) - 1;  // reflect padding needs K/2 < side
  side = std::min(side, std::max<std::int64_t>(limit, 1));
  at::Tensor kernels = at::zeros({n, side}, at::kFloat);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t k = std::min(blur_kernel_size(s[i].item<double>()), side);
    const at::Tensor x = at::linspace(-(k - 1) / 2.0, (k - 1) / 2.0, k, at::kFloat);
    const at::Tensor pdf = at::exp(-0.5 * (x / s[i].item<double>()).pow(2));
    kernels[i].narrow(0, (side - k) / 2, k).copy_(pdf / pdf.sum());
  }
  kernels = kernels.to(images.device(), images.scalar_type()).repeat_interleave(c, 0);
  const std::int64_t pad = side / 2;
  at::Tensor x = at::reflection_pad2d(images.reshape({1, n * c, h, w}), {pad, pad, pad, pad});
  x = at::conv2d(x, kernels.view({n * c, 1, 1, side}), at::Tensor(), at::IntArrayRef{1, 1},
                 at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, n * c);
  x = at::conv2d(x, kernels.view({n * c, 1, side, 1}), at::Tensor(), at::IntArrayRef{1, 1},
                 at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, n * c);
  return x.view({n, c, h, w});
}

}  // namespace augcore::augment::ops

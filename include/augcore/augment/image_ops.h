// Batched image operations of the AutoAugment family on [0,1] pixels (N×C×H×W), following
// torchvision's tensor implementations; per-image parameters are tensors of N.
#pragma once

#include <ATen/core/Tensor.h>

namespace augcore::augment::ops {

enum class Interpolation { kNearest, kBilinear };

// Per-image geometry in torchvision's terms (angle and shears in degrees, translation in
// pixels, centre relative to the image centre); all double tensors of N on the CPU.
struct Affine {
  at::Tensor angle, translate_x, translate_y, shear_x, shear_y, center_x, center_y;
  static Affine identity(std::int64_t n);
};

// torchvision's inverse affine matrices (`_get_inverse_affine_matrix`, scale 1), N×2×3 double.
at::Tensor inverse_affine_matrix(const Affine& affine);

// Resamples every image through its inverse matrix in one grid_sample; outside pixels take
// `fill` (one value per channel, or one for all), blended as torchvision does.
at::Tensor warp_affine(const at::Tensor& images, const at::Tensor& inverse_matrices,
                       Interpolation interpolation, const at::Tensor& fill);

// Colour operations; factors are float tensors of N (1 = identity).
at::Tensor brightness(const at::Tensor& images, const at::Tensor& factor);
at::Tensor saturation(const at::Tensor& images, const at::Tensor& factor);  // grey: identity
at::Tensor contrast(const at::Tensor& images, const at::Tensor& factor);
at::Tensor sharpness(const at::Tensor& images, const at::Tensor& factor);
// Keeps the `bits` (tensor of N, 0–8) most significant bits of the 8-bit pixel values.
at::Tensor posterize(const at::Tensor& images, const at::Tensor& bits);
// Inverts pixels ≥ threshold (tensor of N, in [0,1]).
at::Tensor solarize(const at::Tensor& images, const at::Tensor& threshold);
// timm's SolarizeAdd: adds `amount` (tensor of N) to pixels below `threshold`, clipped at 1.
at::Tensor solarize_add(const at::Tensor& images, const at::Tensor& amount, double threshold);
at::Tensor autocontrast(const at::Tensor& images);
// Histogram equalisation of each channel's 8-bit values (torchvision's `equalize`).
at::Tensor equalize(const at::Tensor& images);
at::Tensor invert(const at::Tensor& images);
// torchvision's rgb_to_grayscale (0.2989 R + 0.587 G + 0.114 B) repeated over the 3 channels;
// single-channel images are returned as they are.
at::Tensor grayscale(const at::Tensor& images);
// torchvision's gaussian_blur with a per-image σ (float tensor of N, > 0) and kernel side
// 2⌈3σ⌉ + 1 (capped by the image), reflect padding; one grouped convolution per axis.
at::Tensor gaussian_blur(const at::Tensor& images, const at::Tensor& sigma);
// The kernel side gaussian_blur uses for σ.
std::int64_t blur_kernel_size(double sigma);

}  // namespace augcore::augment::ops

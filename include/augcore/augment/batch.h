// What every batch augmentation of the library takes and returns, and the checks they share.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace augcore::augment {

// A batch: images float N×C×H×W with pixels in [0,1]; targets int64 N labels, or float N×K
// probabilities (what mixing policies return).
struct Batch {
  at::Tensor images;
  at::Tensor targets;
};

// Throws OptionError("<owner>.images: …") unless `images` is a floating N×C×H×W tensor with
// N ≥ 1 (C, H, W ≥ 1).
void check_images(const at::Tensor& images, const std::string& owner);

// Throws OptionError("<owner>.targets: …") unless `targets` is int64 N or floating N×K.
void check_targets(const at::Tensor& targets, std::int64_t n, const std::string& owner);

// Per-channel pixel values (one value serves every channel) as a 1×C×1×1 tensor with `like`'s
// dtype and device; throws OptionError("<owner>.<option>: …") for a count that is neither 1
// nor C.
at::Tensor channel_tensor(const std::vector<double>& values, const at::Tensor& like,
                          const std::string& owner, const std::string& option);

// Runs `f` on `images` in float32 when they are half or bfloat16 (the ops' arithmetic needs
// it), and returns its result in `images`' dtype and memory format.
at::Tensor in_float(const at::Tensor& images,
                    const std::function<at::Tensor(const at::Tensor&)>& f);

// `out` in `like`'s dtype and memory format (channels_last stays channels_last).
at::Tensor like_input(const at::Tensor& out, const at::Tensor& like);

}  // namespace augcore::augment

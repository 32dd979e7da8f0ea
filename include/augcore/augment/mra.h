// MRA (mask-reconstruct augmentation): a frozen MAE masks each image's low-attention patches
// and its reconstruction is the augmented image.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

#include "augcore/augment/batch.h"
#include "augcore/models/mae.h"

namespace augcore::augment {

enum class MaskMode { kLow, kHigh, kRandom };

// Which attention ranks the patches: the paper's CLS row of the last encoder block, or the
// attention the patch tokens pay each patch, averaged over blocks (docs/mra.md, "Which
// attention": a small MAE's CLS token is unused by its decoder and its attention sinks into the
// background).
enum class AttentionReading { kCls, kPatches };

struct MraOptions {
  // Fraction of patches masked and reconstructed (MRA's best for MAE-Mini: 0.4).
  TORCH_ARG(double, mask_ratio) = 0.4;
  // Mask the low-attention patches (MRA), the high ones, or random ones (the ablations).
  TORCH_ARG(MaskMode, mode) = MaskMode::kLow;
  TORCH_ARG(AttentionReading, attention) = AttentionReading::kCls;
  // Probability of augmenting each image.
  TORCH_ARG(double, p) = 1.0;
  // Kept patches are the original pixels (else the whole image is the reconstruction).
  TORCH_ARG(bool, paste_visible) = true;
  // The augmentor was trained with norm_pix_loss.
  TORCH_ARG(bool, norm_pix) = false;
  // The augmentor's input normalisation in pixels; empty = the checkpoint's (mae_pretrain
  // stores it), else ImageNet's.
  TORCH_ARG(std::vector<double>, mean) = {};
  TORCH_ARG(std::vector<double>, std) = {};
};

// What one call draws: the images augmented (int64 K, ascending) and their masking noise
// (float K×L; it orders the patches only in random mode).
struct MraDraw {
  at::Tensor rows, noise;
};

// Patches kept when augmenting: k = L - floor(L·ratio).
std::int64_t augment_keep_count(std::int64_t patches, double ratio);

// The augmentor: a frozen MAE (no gradient reaches it). `->to(device)` moves it.
class MraAugmentorImpl : public torch::nn::Module {
 public:
  explicit MraAugmentorImpl(models::MaskedAutoencoder mae, MraOptions options = {});
  MraDraw sample(const at::Tensor& images, at::Generator generator = {}) const;
  at::Tensor apply(const at::Tensor& images, const MraDraw& draw);
  at::Tensor forward(const at::Tensor& images, at::Generator generator = {});
  // The reconstruction of every image of `images` with `noise` (N×L) used only in random mode.
  at::Tensor augment(const at::Tensor& images, const at::Tensor& noise);
  // What augment() decides, for inspection: the attention over patches (N×L) and the
  // patch mask (N×L, 1 = reconstructed, 0 = kept).
  std::pair<at::Tensor, at::Tensor> attention_and_mask(const at::Tensor& images,
                                                       const at::Tensor& noise);
  std::int64_t patch_size() const { return mae_->config().patch_size; }
  // The frozen MAE (shared, not copied), for inspection.
  models::MaskedAutoencoder mae() const { return mae_; }
  const MraOptions& options() const { return options_; }

 private:
  // Checks `images` against the augmentor: channels, patch grid, device.
  void check(const at::Tensor& images) const;
  // Patch scores under options_.attention (higher = more attended): N×L.
  at::Tensor attention(const at::Tensor& x);
  // The augmentor's normalised input and the masking noise for `images`.
  std::pair<at::Tensor, at::Tensor> prepare(const at::Tensor& images, const at::Tensor& noise);
  models::MaskedAutoencoder mae_;
  MraOptions options_;
};
TORCH_MODULE(MraAugmentor);

// An augmentor from a checkpoint: mae_pretrain's, or facebookresearch/mae's .pth, for an MAE of
// architecture `config` (models::mae_preset). Throws DataError naming the file when it is
// missing, corrupt or of another architecture. Empty mean/std come from the checkpoint.
MraAugmentor load_mra_augmentor(const std::string& checkpoint, const models::MaeConfig& config,
                                MraOptions options = {});

}  // namespace augcore::augment

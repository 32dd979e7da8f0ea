// MRA (mask-reconstruct augmentation): a frozen MAE masks each image's low-attention
// patches and the reconstruction is the augmented image.
#pragma once

#include "augcore/augment/policy.h"
#include "augcore/models/mae.h"

namespace augcore::augment {

enum class MaskMode { kLow, kHigh, kRandom };

// Which attention ranks the patches: the paper's CLS row of the last encoder block, or the
// attention the patch tokens pay each patch, averaged over blocks (docs/mra.md, "Which
// attention": a small MAE's CLS token is unused by its decoder and its attention sinks into the
// background).
enum class AttentionReading { kCls, kPatches };

struct MraOptions {
  double mask_ratio = 0.4;
  MaskMode mode = MaskMode::kLow;
  AttentionReading attention = AttentionReading::kCls;
  double p = 1.0;
  bool paste_visible = true;
  bool norm_pix = false;                          // the augmentor was trained with norm_pix_loss
  std::vector<double> mean{0.485, 0.456, 0.406};  // the augmentor's input normalisation
  std::vector<double> std{0.229, 0.224, 0.225};
  std::string source;  // "path fingerprint" of the augmentor checkpoint, when loaded from one
};

// Patches kept when augmenting: k = L - floor(L·ratio).
std::int64_t augment_keep_count(std::int64_t patches, double ratio);

class MraPolicy : public BatchPolicy {
 public:
  MraPolicy(models::MaskedAutoencoder mae, MraOptions options, at::Device device);
  void apply(PolicyBatch& batch, StepContext& context) override;
  std::string identity() const override { return options_.source; }
  // The augmentation of `images` (pixels in [0,1]) with `noise` used only in random mode.
  at::Tensor augment(const at::Tensor& images, const at::Tensor& random_noise);
  // What augment() decides, for inspection: the attention over patches (N×L) and the
  // patch mask (N×L, 1 = reconstructed, 0 = kept).
  std::pair<at::Tensor, at::Tensor> attention_and_mask(const at::Tensor& images,
                                                       const at::Tensor& random_noise);
  std::int64_t patch_size() const { return mae_->config().patch_size; }

 private:
  // Patch scores under options_.attention (higher = more attended): N×L.
  at::Tensor attention(const at::Tensor& x);
  // The augmentor's normalised input and the masking noise for `images`.
  std::pair<at::Tensor, at::Tensor> prepare(const at::Tensor& images,
                                            const at::Tensor& random_noise);
  models::MaskedAutoencoder mae_;
  MraOptions options_;
  at::Tensor mean_, std_;
};

}  // namespace augcore::augment

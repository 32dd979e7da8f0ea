// Masked autoencoder (facebookresearch/mae's architecture, names, patchify order and init):
// random masking for pretraining, and the pieces MRA's attention-guided masking needs.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <optional>

#include "augcore/models/vit.h"

namespace augcore::models {

struct MaeConfig {
  std::int64_t img_size = 224;
  std::int64_t patch_size = 16;
  std::int64_t in_chans = 3;
  std::int64_t embed_dim = 1024;
  std::int64_t depth = 24;
  std::int64_t num_heads = 16;
  std::int64_t decoder_embed_dim = 512;
  std::int64_t decoder_depth = 8;
  std::int64_t decoder_num_heads = 16;
  double mlp_ratio = 4.0;
  bool norm_pix_loss = false;
};

// MAE's fixed 2-D sin-cos table, (1 + grid_h·grid_w)×dim with a zero CLS row: the first dim/2
// channels encode the column (MAE builds its grid w-first), the rest the row; each half is
// [sin | cos] with ω_i = 1/10000^(i/(dim/4)).
at::Tensor sincos_pos_embed_2d(std::int64_t dim, std::int64_t grid_h, std::int64_t grid_w);

struct MaskedTokens {
  at::Tensor kept;         // N×K×D visible tokens, in ids_keep order
  at::Tensor mask;         // N×L, 1 = removed, 0 = kept, in original patch order
  at::Tensor ids_restore;  // N×L, argsort of ids_shuffle
  at::Tensor ids_keep;     // N×K
};

// Keeps the first `keep` patches of argsort(noise) per image (MAE's random_masking with the
// noise given).
MaskedTokens mask_by_noise(const at::Tensor& tokens, const at::Tensor& noise, std::int64_t keep);

// Visible patches in MAE pretraining: floor(L·(1 - ratio)), as MAE's int(L * (1 - ratio)).
std::int64_t pretrain_keep_count(std::int64_t patches, double ratio);

class MaskedAutoencoderImpl : public torch::nn::Module {
 public:
  explicit MaskedAutoencoderImpl(const MaeConfig& config);

  // N×C×H×W → N×L×(p·p·C), a patch ordered (row, col, channel) with channel innermost.
  at::Tensor patchify(const at::Tensor& images) const;
  at::Tensor unpatchify(const at::Tensor& patches, std::int64_t height, std::int64_t width) const;

  // Encoder on the `keep` visible tokens chosen by `noise` (N×L; uniform noise = random
  // masking). Returns the encoded tokens (CLS first) and the masking.
  std::pair<at::Tensor, MaskedTokens> forward_encoder(const at::Tensor& images,
                                                      const at::Tensor& noise, std::int64_t keep);
  // Decoder for an image of height×width: N×L×(p·p·C) predictions in original patch order
  // (CLS dropped).
  at::Tensor forward_decoder(const at::Tensor& encoded, const at::Tensor& ids_restore,
                             std::int64_t height, std::int64_t width);
  // Mean squared error per patch, averaged over removed patches (targets normalised per
  // patch when norm_pix_loss).
  at::Tensor loss(const at::Tensor& images, const at::Tensor& pred, const at::Tensor& mask) const;

  // Predictions of a norm_pix_loss model brought back to the inputs' scale with the mean and
  // variance of each image's visible patches (never the hidden ones, which would leak them).
  at::Tensor denormalise_prediction(const at::Tensor& images, const at::Tensor& pred,
                                    const at::Tensor& mask) const;

  // CLS-query attention of the last encoder block over the L patch keys of the full image
  // (softmax over patches only, averaged over heads): N×L.
  at::Tensor cls_attention(const at::Tensor& images);
  // The attention each patch receives from the patch queries (CLS query and key left out),
  // averaged over heads, queries and encoder blocks: N×L.
  at::Tensor patch_attention(const at::Tensor& images);
  // Every encoder block's full attention on the full image (CLS first, then the L patches):
  // one N×heads×(L+1)×(L+1) tensor per block, for inspecting what the encoder attends to.
  std::vector<at::Tensor> attention_maps(const at::Tensor& images);

  const MaeConfig& config() const { return config_; }
  std::int64_t grid(std::int64_t height, std::int64_t width) const;

 private:
  at::Tensor pos_embed_for(std::int64_t h, std::int64_t w, std::int64_t dim, bool decoder) const;
  MaeConfig config_;
  PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token, pos_embed, mask_token, decoder_pos_embed;
  std::vector<Block> blocks_, decoder_blocks_;
  torch::nn::LayerNorm norm{nullptr}, decoder_norm{nullptr};
  torch::nn::Linear decoder_embed{nullptr}, decoder_pred{nullptr};
};
TORCH_MODULE(MaskedAutoencoder);

// Presets: mae_mini (4×480 encoder, 2×384 decoder at 224/16), mae_base, mae_large, and
// small-image ones (mae_tiny_patch4_28, mae_tiny_patch4_32).
MaeConfig mae_preset(const std::string& name);

}  // namespace augcore::models

// Swin Transformer (Liu et al. 2021) with timm's parameter names, so that timm checkpoints load
// strictly: shifted-window attention with relative position bias, patch merging, and MaskSub's
// sub pass (augsub's Swin: masked units of patch tokens replaced by a learned mask token).
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "augcore/models/classifier.h"
#include "augcore/models/vit.h"

namespace augcore::models {

struct SwinConfig {
  std::int64_t img_size = 224;
  std::int64_t patch_size = 4;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;
  std::int64_t embed_dim = 96;  // stage i is embed_dim·2^i wide
  std::vector<std::int64_t> depths{2, 2, 6, 2};
  std::vector<std::int64_t> num_heads{3, 6, 12, 24};
  std::int64_t window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path = 0.0;  // stochastic depth, rising linearly to this over all blocks
  // A learned `mask_token` for MaskSub's sub pass (augsub's Swin); off for timm checkpoints.
  bool mask_token = false;
  std::int64_t mask_unit = 32;  // side of a masked unit in pixels (augsub: 32)
};

class WindowAttentionImpl : public torch::nn::Module {
 public:
  WindowAttentionImpl(std::int64_t dim, std::int64_t heads, std::int64_t window, bool qkv_bias);
  // x: (windows·N)×T×C; `mask`: windows×T×T additive (0 / −100) or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  at::Tensor relative_position_bias_table;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  std::int64_t heads_;
  at::Tensor index_;  // T×T indices into the table (timm's non-persistent buffer)
};
TORCH_MODULE(WindowAttention);

class SwinBlockImpl : public torch::nn::Module {
 public:
  // `resolution`: the stage's token grid side; the window shrinks to it (and stops shifting)
  // when it is no larger, as in timm.
  SwinBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t window, std::int64_t shift,
                std::int64_t resolution, double mlp_ratio, bool qkv_bias, double drop_path);
  // x: N×H×W×C.
  at::Tensor forward(const at::Tensor& x);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  WindowAttention attn{nullptr};
  Mlp mlp{nullptr};

 private:
  at::Tensor windowed_attention(const at::Tensor& x);
  std::int64_t window_, shift_;
  double drop_path_;
};
TORCH_MODULE(SwinBlock);

class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(std::int64_t dim, std::int64_t out_dim);
  // N×H×W×C → N×⌈H/2⌉×⌈W/2⌉×out_dim (odd sides padded with zeros).
  at::Tensor forward(const at::Tensor& x);
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};
TORCH_MODULE(PatchMerging);

class SwinStageImpl : public torch::nn::Module {
 public:
  SwinStageImpl(std::int64_t dim, std::int64_t out_dim, bool downsample, std::int64_t resolution,
                std::int64_t depth, std::int64_t heads, const SwinConfig& c,
                const std::vector<double>& drop_path);
  at::Tensor forward(at::Tensor x);
  PatchMerging downsample{nullptr};
  std::vector<SwinBlock> blocks;
};
TORCH_MODULE(SwinStage);

// Patches → N×H×W×C tokens, layer-normalised (timm's PatchEmbed with norm, NHWC output).
class SwinPatchEmbedImpl : public torch::nn::Module {
 public:
  SwinPatchEmbedImpl(std::int64_t in_chans, std::int64_t dim, std::int64_t patch);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(SwinPatchEmbed);

// Average pool over tokens, then `fc` (timm's ClassifierHead).
class PooledHeadImpl : public torch::nn::Module {
 public:
  PooledHeadImpl(std::int64_t dim, std::int64_t classes);
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(PooledHead);

class SwinImpl : public ClassifierImpl {
 public:
  explicit SwinImpl(const SwinConfig& config);
  at::Tensor forward(const at::Tensor& x) override;
  // Supports `masked_units` (needs the mask token).
  ForwardResult forward_with(const at::Tensor& x, const ForwardOptions& options) override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "head"; }
  std::int64_t num_classes() const override { return config_.num_classes; }
  // SimMIM's Swin ids: patch_embed and mask_token → 0; layers.s.blocks.b → 1 + (blocks before
  // stage s) + b; layers.s.downsample → the id of the previous stage's last block; norm and
  // head → all blocks + 1.
  std::int64_t layer_id(const std::string& parameter) const override;
  std::int64_t num_layer_ids() const override;
  // Masked units per side (rows, columns) of the patch grid for MaskSub.
  std::pair<std::int64_t, std::int64_t> mask_grid() const;
  const SwinConfig& config() const { return config_; }

 private:
  at::Tensor encode(const at::Tensor& x, const ForwardOptions& options);
  SwinConfig config_;
  SwinPatchEmbed patch_embed{nullptr};
  at::Tensor mask_token;
  std::vector<SwinStage> stages_;
  torch::nn::LayerNorm norm{nullptr};
  PooledHead head{nullptr};
};

}  // namespace augcore::models

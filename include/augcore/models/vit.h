// Vision Transformer with timm/DeiT parameter names, drop-path, optional layer-scale
// (DeiT-III), a forward on a subset of patch tokens, and the last block's CLS attention.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "augcore/models/classifier.h"

namespace augcore::models {

struct ViTConfig {
  std::int64_t img_size = 224;
  std::int64_t patch_size = 16;
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;
  std::int64_t embed_dim = 768;
  std::int64_t depth = 12;
  std::int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path = 0.0;  // stochastic depth, rising linearly to this over the blocks
  // Every block drops its residual branches at `drop_path` (DeiT-III's models_v2.py), instead
  // of timm's linear ramp from 0.
  bool drop_path_constant = false;
  double layer_scale = 0.0;  // initial LayerScale value; 0 = no LayerScale
  // The head reads the mean of the patch tokens through `fc_norm` (MAE's fine-tuning ViT,
  // timm's global_pool='avg'), not the CLS token through `norm`.
  bool global_pool = false;
};

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(std::int64_t in_chans, std::int64_t dim, std::int64_t patch);
  // N×C×H×W → N×L×D, patches in row-major order.
  at::Tensor forward(const at::Tensor& x) { return proj->forward(x).flatten(2).transpose(1, 2); }
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(std::int64_t dim, std::int64_t heads, bool qkv_bias);
  // Also fills `cls_attention` (N×(T-1), head-averaged CLS row over the other tokens) when
  // it is non-null.
  // `weights`, when given, receives every head's attention weights (N×H×T×T).
  at::Tensor forward(const at::Tensor& x, at::Tensor* cls_attention = nullptr, double dropout = 0,
                     at::Tensor* weights = nullptr);
  torch::nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  std::int64_t heads_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(std::int64_t dim, std::int64_t hidden);
  // timm's Mlp: dropout after the activation and after fc2.
  at::Tensor forward(const at::Tensor& x, double dropout = 0);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(std::int64_t dim, double init);
  at::Tensor forward(const at::Tensor& x) { return x * gamma; }
  at::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ViTConfig& c, double drop_path);
  // `drop_path_rate` (when set) and `dropout` apply to this pass only; `weights`, when given,
  // receives the attention weights (N×H×T×T).
  at::Tensor forward(const at::Tensor& x, at::Tensor* cls_attention = nullptr,
                     std::optional<double> drop_path_rate = std::nullopt, double dropout = 0,
                     at::Tensor* weights = nullptr);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};
  double drop_path;  // stochastic-depth rate of this block
};
TORCH_MODULE(Block);

class ViTImpl : public ClassifierImpl {
 public:
  explicit ViTImpl(const ViTConfig& config);
  at::Tensor forward(const at::Tensor& x) override;
  ForwardResult forward_with(const at::Tensor& x, const ForwardOptions& options) override;
  at::Tensor features(const at::Tensor& x) override;
  std::string head_name() const override { return "head"; }
  std::int64_t num_classes() const override { return config_.num_classes; }
  std::int64_t num_patches() const;
  // BEiT/MAE layer ids: cls_token, pos_embed, patch_embed → 0; blocks.i → i + 1; the rest
  // (norm, fc_norm, head) → depth + 1.
  std::int64_t layer_id(const std::string& parameter) const override;
  std::int64_t num_layer_ids() const override { return config_.depth + 2; }
  const ViTConfig& config() const { return config_; }
  std::vector<Block>& blocks() { return blocks_; }

 private:
  // The head's input: the normalised CLS token after the blocks, or the normalised mean of the
  // patch tokens with global_pool; `attention`, when given,
  // receives the last block's CLS attention.
  at::Tensor encode(const at::Tensor& x, const ForwardOptions& options, at::Tensor* attention);
  ViTConfig config_;
  PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token, pos_embed;
  std::vector<Block> blocks_;
  torch::nn::LayerNorm norm{nullptr}, fc_norm{nullptr};
  torch::nn::Linear head{nullptr};
};

// Truncated normal (within ±2 std), as timm initialises ViT weights.
void trunc_normal_(at::Tensor& t, double std);

}  // namespace augcore::models

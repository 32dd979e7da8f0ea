// The classifier interface every model implements, and building one from a config component.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace augcore::models {

// What a classifier's forward can be asked for besides logits.
struct ForwardOptions {
  // ViT only: per image, the patch-token indices to keep (N×K int64), CLS always kept.
  std::optional<at::Tensor> keep_tokens;
  // ViT only: also return the last block's CLS attention over patches (N×L, head-averaged).
  bool return_attention = false;
  // Models with an early head: also return its logits (one pass through the first stage).
  bool early_logits = false;
  // ViT only, for this pass: every block's drop-path rate (MaskSub's PathSub), and dropout
  // after the attention projection and in the MLP (DropSub).
  std::optional<double> drop_path;
  double dropout = 0;
  // Swin only: N×Gh×Gw 0/1 over its mask grid; 1 = that unit's patch tokens become the mask
  // token (MaskSub's sub pass, as augsub's Swin does).
  std::optional<at::Tensor> masked_units;
};

struct ForwardResult {
  at::Tensor logits;
  at::Tensor attention;     // defined when requested
  at::Tensor early_logits;  // defined when requested
};

class ClassifierImpl : public torch::nn::Module {
 public:
  // Logits for a normalised float batch N×C×H×W.
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  // Forward with extras; models without them reject the options they lack.
  virtual ForwardResult forward_with(const at::Tensor& x, const ForwardOptions& options);
  // Prefix of the classification head's parameters ("fc", "head"), for fine-tuning.
  virtual std::string head_name() const = 0;
  virtual std::int64_t num_classes() const = 0;
  // The features the classification head reads (N×D: pooled CNN features, the ViT's normalised
  // CLS token), for linear probes and few-shot evaluation.
  virtual at::Tensor features(const at::Tensor& x);

  // Layer-wise learning-rate decay: the id (0 … num_layer_ids() − 1) of a named parameter;
  // models without ids report 0 of them.
  virtual std::int64_t layer_id(const std::string& parameter) const;
  virtual std::int64_t num_layer_ids() const { return 0; }

  // CNNs split at the end of their first stage (stem + first stage, then the rest), which
  // KeepAugment's early head reads; models without the split report 0 channels.
  virtual at::Tensor first_stage(const at::Tensor& x);
  virtual at::Tensor after_first_stage(const at::Tensor& features);
  virtual std::int64_t first_stage_channels() const { return 0; }

  // KeepAugment's early-loss head: average-pooled first-stage features → linear classifier
  // (parameters "early_head.*"). Trained by the objective; a source of cheap saliency.
  void add_early_head();
  bool has_early_head() const { return static_cast<bool>(early_head_); }
  at::Tensor early_logits(const at::Tensor& x);

 private:
  std::shared_ptr<torch::nn::LinearImpl> early_head_;
};

// Sizes a model is built for, known from the data rather than the model block.
struct ModelShape {
  std::int64_t in_chans = 3;
  std::int64_t num_classes = 1000;
  std::int64_t image_size = 224;
};

}  // namespace augcore::models

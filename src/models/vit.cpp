#include "augcore/models/vit.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/core/torch_compat.h"
#include "augcore/models/blocks.h"
#include "augcore/models/model_registry.h"

namespace augcore::models {

void trunc_normal_(at::Tensor& t, double std) {
  // Inverse-CDF sampling of N(0, std²) truncated to [-2 std, 2 std].
  torch::NoGradGuard no_grad;
  const double cdf = 0.5 * (1.0 + std::erf(2.0 / std::sqrt(2.0)));
  t.uniform_(2 * (1 - cdf) - 1, 2 * cdf - 1)
      .erfinv_()
      .mul_(std * std::sqrt(2.0))
      .clamp_(-2 * std, 2 * std);
}

PatchEmbedImpl::PatchEmbedImpl(std::int64_t in_chans, std::int64_t dim, std::int64_t patch) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, dim, patch).stride(patch)));
}

namespace {

// On a CPU, LibTorch's fused attention runs small GEMMs per (image, head, block of tokens); up
// to 128 tokens the explicit formula's batched GEMMs train faster (steps 12-15 % faster at 17
// and 65 tokens; at 197 the fused kernel is about 7 % faster and saves the T×T weights' memory).
// Measured in docs/performance.md, "Attention on a CPU".
bool short_cpu_sequence(const at::Tensor& q) {
  return q.device().is_cpu() && q.size(-2) <= 128;
}

}  // namespace

AttentionImpl::AttentionImpl(std::int64_t dim, std::int64_t heads, bool qkv_bias) : heads_(heads) {
  qkv = register_module("qkv",
                        torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, at::Tensor* cls_attention, double dropout,
                                  at::Tensor* weights) {
  const auto n = x.size(0), t = x.size(1), d = x.size(2);
  // unbind, not three selects: the backward of a select zero-fills a full-size gradient per
  // select and adds the three; unbind's stacks them once.
  const auto qkv_ =
      qkv->forward(x).reshape({n, t, 3, heads_, d / heads_}).permute({2, 0, 3, 1, 4}).unbind(0);
  const at::Tensor &q = qkv_[0], &k = qkv_[1], &v = qkv_[2];
  at::Tensor out;
  if (cls_attention || weights) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(d / heads_));
    const at::Tensor attn = at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1);
    if (cls_attention) *cls_attention = attn.select(2, 0).slice(2, 1).mean(1);
    if (weights) *weights = attn;
    out = at::matmul(attn, v);
  } else if (short_cpu_sequence(q)) {
    out = compat::explicit_attention(q, k, v);
  } else {
    out = compat::scaled_dot_product_attention(q, k, v);
  }
  return at::dropout(proj->forward(out.transpose(1, 2).reshape({n, t, d})), dropout, is_training());
}

MlpImpl::MlpImpl(std::int64_t dim, std::int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

at::Tensor MlpImpl::forward(const at::Tensor& x, double dropout) {
  const at::Tensor h = at::dropout(at::gelu(fc1->forward(x)), dropout, is_training());
  return at::dropout(fc2->forward(h), dropout, is_training());
}

LayerScaleImpl::LayerScaleImpl(std::int64_t dim, double init) {
  gamma = register_parameter("gamma", at::full({dim}, init));
}

namespace {

torch::nn::LayerNorm layer_norm(std::int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

}  // namespace

BlockImpl::BlockImpl(const ViTConfig& c, double drop_path_rate) : drop_path(drop_path_rate) {
  norm1 = register_module("norm1", layer_norm(c.embed_dim));
  attn = register_module("attn", Attention(c.embed_dim, c.num_heads, c.qkv_bias));
  if (c.layer_scale > 0) ls1 = register_module("ls1", LayerScale(c.embed_dim, c.layer_scale));
  norm2 = register_module("norm2", layer_norm(c.embed_dim));
  mlp = register_module("mlp",
                        Mlp(c.embed_dim, static_cast<std::int64_t>(c.embed_dim * c.mlp_ratio)));
  if (c.layer_scale > 0) ls2 = register_module("ls2", LayerScale(c.embed_dim, c.layer_scale));
}

at::Tensor BlockImpl::forward(const at::Tensor& x, at::Tensor* cls_attention,
                              std::optional<double> drop_path_rate, double dropout,
                              at::Tensor* weights) {
  const double rate = drop_path_rate.value_or(drop_path);
  at::Tensor a = attn->forward(norm1->forward(x), cls_attention, dropout, weights);
  if (ls1) a = ls1->forward(a);
  at::Tensor y = x + models::drop_path(a, rate, is_training());
  at::Tensor m = mlp->forward(norm2->forward(y), dropout);
  if (ls2) m = ls2->forward(m);
  return y + models::drop_path(m, rate, is_training());
}

ViTImpl::ViTImpl(const ViTConfig& c) : config_(c) {
  if (c.img_size % c.patch_size != 0) {
    throw ConfigError("model: image size " + std::to_string(c.img_size) +
                      " is not divisible by patch_size " + std::to_string(c.patch_size));
  }
  if (c.embed_dim % c.num_heads != 0) {
    throw ConfigError("model: embed_dim " + std::to_string(c.embed_dim) +
                      " is not divisible by num_heads " + std::to_string(c.num_heads));
  }
  patch_embed = register_module("patch_embed", PatchEmbed(c.in_chans, c.embed_dim, c.patch_size));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, c.embed_dim}));
  pos_embed = register_parameter("pos_embed", at::zeros({1, num_patches() + 1, c.embed_dim}));
  torch::nn::ModuleList list;
  for (std::int64_t i = 0; i < c.depth; ++i) {
    const double rate =
        c.depth > 1 && !c.drop_path_constant
            ? c.drop_path * static_cast<double>(i) / static_cast<double>(c.depth - 1)
            : c.drop_path;
    blocks_.push_back(Block(c, rate));
    list->push_back(blocks_.back());
  }
  register_module("blocks", list);
  if (c.global_pool) {
    fc_norm = register_module("fc_norm", layer_norm(c.embed_dim));
  } else {
    norm = register_module("norm", layer_norm(c.embed_dim));
  }
  head = register_module("head", torch::nn::Linear(c.embed_dim, c.num_classes));

  torch::NoGradGuard no_grad;
  trunc_normal_(pos_embed, 0.02);
  cls_token.normal_(0, 1e-6);
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* l = m->as<torch::nn::Linear>()) {
      trunc_normal_(l->weight, 0.02);
      if (l->bias.defined()) l->bias.zero_();
    }
  }
}

std::int64_t ViTImpl::num_patches() const {
  const auto side = config_.img_size / config_.patch_size;
  return side * side;
}

at::Tensor ViTImpl::forward(const at::Tensor& x) {
  return forward_with(x, {}).logits;
}

ForwardResult ViTImpl::forward_with(const at::Tensor& x, const ForwardOptions& options) {
  if (options.early_logits) throw std::invalid_argument("a ViT has no early head");
  if (options.masked_units) throw std::invalid_argument("a ViT drops tokens (keep_tokens)");
  ForwardResult result;
  result.logits =
      head->forward(encode(x, options, options.return_attention ? &result.attention : nullptr));
  return result;
}

at::Tensor ViTImpl::features(const at::Tensor& x) {
  return encode(x, {}, nullptr);
}

at::Tensor ViTImpl::encode(const at::Tensor& x, const ForwardOptions& options,
                           at::Tensor* attention) {
  at::Tensor tokens = patch_embed->forward(x);
  if (tokens.size(1) != num_patches()) {
    throw std::invalid_argument("ViT built for " + std::to_string(config_.img_size) +
                                " px got an input of another size");
  }
  tokens = tokens + pos_embed.slice(1, 1);
  if (options.keep_tokens) {
    const at::Tensor& keep = *options.keep_tokens;
    tokens = at::gather(tokens, 1, keep.unsqueeze(-1).expand({-1, -1, tokens.size(2)}));
  }
  const at::Tensor cls = (cls_token + pos_embed.slice(1, 0, 1)).expand({tokens.size(0), -1, -1});
  at::Tensor h = at::cat({cls, tokens}, 1);
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const bool last = i + 1 == blocks_.size();
    h = blocks_[i]->forward(h, last ? attention : nullptr, options.drop_path, options.dropout);
  }
  if (config_.global_pool) return fc_norm->forward(h.slice(1, 1).mean(1));
  return norm->forward(h).select(1, 0);
}

std::int64_t ViTImpl::layer_id(const std::string& parameter) const {
  auto starts = [&](const char* prefix) { return parameter.rfind(prefix, 0) == 0; };
  if (starts("cls_token") || starts("pos_embed") || starts("patch_embed.")) return 0;
  if (starts("blocks.")) return std::stoll(parameter.substr(7)) + 1;
  return config_.depth + 1;
}

namespace {

config::Schema vit_options(const ViTConfig& d) {
  config::Schema s;
  s.add_int("img_size", 0, "input side in pixels; 0 = the data's").range(0, 4096);
  s.add_int("patch_size", d.patch_size, "patch side in pixels").range(1, 1024);
  s.add_int("embed_dim", d.embed_dim, "token width").range(1, 1 << 16);
  s.add_int("depth", d.depth, "transformer blocks").range(1, 1000);
  s.add_int("num_heads", d.num_heads, "attention heads").range(1, 1024);
  s.add_float("mlp_ratio", d.mlp_ratio, "MLP hidden width / embed_dim").range(0.01, 64);
  s.add_bool("qkv_bias", true, "bias on the qkv projection");
  s.add_float("drop_path", 0.0, "stochastic depth rate of the last block (linear ramp)")
      .range(0, 1);
  s.add_choice("drop_path_schedule", "linear", {"linear", "constant"},
               "linear: block i drops at drop_path x i/(depth-1) (timm); constant: every block "
               "at drop_path (DeiT-III)");
  s.add_float("layer_scale", 0.0, "LayerScale init (DeiT-III uses 1e-4); 0 = off").range(0, 10);
  s.add_choice("global_pool", "token", {"token", "avg"},
               "head input: token (normalised CLS) or avg (fc_norm of the mean patch token, "
               "MAE fine-tuning)");
  return s;
}

bool register_vit(const std::string& name, const std::string& doc, const ViTConfig& d) {
  return register_model(
      name, doc, vit_options(d), [](const config::Options& o, const ModelShape& shape) {
        ViTConfig c;
        c.img_size = o.integer("img_size") > 0 ? o.integer("img_size") : shape.image_size;
        c.patch_size = o.integer("patch_size");
        c.embed_dim = o.integer("embed_dim");
        c.depth = o.integer("depth");
        c.num_heads = o.integer("num_heads");
        c.mlp_ratio = o.real("mlp_ratio");
        c.qkv_bias = o.boolean("qkv_bias");
        c.drop_path = o.real("drop_path");
        c.drop_path_constant = o.string("drop_path_schedule") == "constant";
        c.layer_scale = o.real("layer_scale");
        c.global_pool = o.string("global_pool") == "avg";
        c.in_chans = shape.in_chans;
        c.num_classes = shape.num_classes;
        return std::make_shared<ViTImpl>(c);
      });
}

ViTConfig preset(std::int64_t patch, std::int64_t dim, std::int64_t depth, std::int64_t heads) {
  ViTConfig c;
  c.patch_size = patch;
  c.embed_dim = dim;
  c.depth = depth;
  c.num_heads = heads;
  return c;
}

const bool registered =
    register_vit("vit", "Vision Transformer, every size option explicit",
                 preset(16, 768, 12, 12)) &&
    register_vit("vit_tiny_patch16_224", "ViT-Ti/16 (DeiT-Tiny)", preset(16, 192, 12, 3)) &&
    register_vit("vit_small_patch16_224", "ViT-S/16 (DeiT-Small)", preset(16, 384, 12, 6)) &&
    register_vit("vit_base_patch16_224", "ViT-B/16 (DeiT-Base)", preset(16, 768, 12, 12)) &&
    register_vit("vit_tiny_patch4_32", "ViT-Ti with 4-px patches for 32-px images",
                 preset(4, 192, 12, 3)) &&
    register_vit("vit_mini_patch4_28", "a 6-block, 128-wide ViT for 28-px images (CPU sized)",
                 preset(4, 128, 6, 4));

}  // namespace
}  // namespace augcore::models

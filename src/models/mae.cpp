#include "augcore/models/mae.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "augcore/core/error.h"

namespace augcore::models {

namespace {

// [sin(pos·ω) | cos(pos·ω)] for positions `pos` (M), dim/2 frequencies.
at::Tensor sincos_1d(std::int64_t dim, const at::Tensor& pos) {
  const at::Tensor omega =
      1.0 / at::pow(10000.0, at::arange(dim / 2, at::kDouble) / static_cast<double>(dim / 2));
  const at::Tensor out = at::outer(pos.to(at::kDouble).reshape({-1}), omega);
  return at::cat({at::sin(out), at::cos(out)}, 1);
}

torch::nn::LayerNorm layer_norm(std::int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

ViTConfig block_config(std::int64_t dim, std::int64_t heads, double mlp_ratio) {
  ViTConfig c;
  c.embed_dim = dim;
  c.num_heads = heads;
  c.mlp_ratio = mlp_ratio;
  return c;
}

}  // namespace

at::Tensor sincos_pos_embed_2d(std::int64_t dim, std::int64_t grid_h, std::int64_t grid_w) {
  if (dim % 4 != 0) throw std::invalid_argument("sin-cos position embedding needs dim % 4 == 0");
  // Row-major patch order: patch k sits at row k / grid_w, column k % grid_w.
  const at::Tensor k = at::arange(grid_h * grid_w, at::kLong);
  const at::Tensor col = k.remainder(grid_w), row = k.div(grid_w, "floor");
  const at::Tensor table = at::cat({sincos_1d(dim / 2, col), sincos_1d(dim / 2, row)}, 1);
  return at::cat({at::zeros({1, dim}, at::kDouble), table}, 0).to(at::kFloat).unsqueeze(0);
}

std::int64_t pretrain_keep_count(std::int64_t patches, double ratio) {
  return static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * (1.0 - ratio)));
}

MaskedTokens mask_by_noise(const at::Tensor& tokens, const at::Tensor& noise, std::int64_t keep) {
  const auto n = tokens.size(0), l = tokens.size(1), d = tokens.size(2);
  if (keep < 1 || keep > l) throw std::invalid_argument("mask keeps no patch or too many");
  MaskedTokens m;
  const at::Tensor ids_shuffle = at::argsort(noise, std::int64_t{1}, false);
  m.ids_restore = at::argsort(ids_shuffle, std::int64_t{1}, false);
  m.ids_keep = ids_shuffle.slice(1, 0, keep);
  m.kept = at::gather(tokens, 1, m.ids_keep.unsqueeze(-1).expand({n, keep, d}));
  m.mask = at::ones({n, l}, tokens.options());
  m.mask.slice(1, 0, keep).zero_();
  m.mask = at::gather(m.mask, 1, m.ids_restore);
  return m;
}

MaskedAutoencoderImpl::MaskedAutoencoderImpl(const MaeConfig& c) : config_(c) {
  if (c.img_size % c.patch_size != 0) {
    throw ConfigError("mae: image size " + std::to_string(c.img_size) +
                      " is not divisible by patch_size " + std::to_string(c.patch_size));
  }
  const std::int64_t g = c.img_size / c.patch_size;
  patch_embed = register_module("patch_embed", PatchEmbed(c.in_chans, c.embed_dim, c.patch_size));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, c.embed_dim}));
  pos_embed = register_parameter("pos_embed", sincos_pos_embed_2d(c.embed_dim, g, g),
                                 /*requires_grad=*/false);
  torch::nn::ModuleList enc, dec;
  for (std::int64_t i = 0; i < c.depth; ++i) {
    blocks_.push_back(Block(block_config(c.embed_dim, c.num_heads, c.mlp_ratio), 0.0));
    enc->push_back(blocks_.back());
  }
  register_module("blocks", enc);
  norm = register_module("norm", layer_norm(c.embed_dim));
  decoder_embed =
      register_module("decoder_embed", torch::nn::Linear(c.embed_dim, c.decoder_embed_dim));
  mask_token = register_parameter("mask_token", at::zeros({1, 1, c.decoder_embed_dim}));
  decoder_pos_embed = register_parameter(
      "decoder_pos_embed", sincos_pos_embed_2d(c.decoder_embed_dim, g, g), /*requires_grad=*/false);
  for (std::int64_t i = 0; i < c.decoder_depth; ++i) {
    decoder_blocks_.push_back(
        Block(block_config(c.decoder_embed_dim, c.decoder_num_heads, c.mlp_ratio), 0.0));
    dec->push_back(decoder_blocks_.back());
  }
  register_module("decoder_blocks", dec);
  decoder_norm = register_module("decoder_norm", layer_norm(c.decoder_embed_dim));
  decoder_pred = register_module(
      "decoder_pred",
      torch::nn::Linear(c.decoder_embed_dim, c.patch_size * c.patch_size * c.in_chans));

  // MAE's initialisation: xavier-uniform for linear layers and the patch projection seen as
  // a matrix, N(0, 0.02) for the tokens, LayerNorm 1/0 (LibTorch's default already).
  torch::NoGradGuard no_grad;
  at::Tensor w = patch_embed->proj->weight.view({c.embed_dim, -1});
  torch::nn::init::xavier_uniform_(w);
  cls_token.normal_(0, 0.02);
  mask_token.normal_(0, 0.02);
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* l = m->as<torch::nn::Linear>()) {
      torch::nn::init::xavier_uniform_(l->weight);
      if (l->bias.defined()) l->bias.zero_();
    }
  }
}

std::int64_t MaskedAutoencoderImpl::grid(std::int64_t height, std::int64_t width) const {
  const auto p = config_.patch_size;
  if (height % p != 0 || width % p != 0) {
    throw ConfigError("mae: image " + std::to_string(height) + "x" + std::to_string(width) +
                      " is not divisible by the augmentor's patch size " + std::to_string(p));
  }
  return (height / p) * (width / p);
}

at::Tensor MaskedAutoencoderImpl::pos_embed_for(std::int64_t h, std::int64_t w, std::int64_t dim,
                                                bool decoder) const {
  const auto p = config_.patch_size;
  const at::Tensor& stored = decoder ? decoder_pos_embed : pos_embed;
  if (h == config_.img_size && w == config_.img_size) return stored;
  return sincos_pos_embed_2d(dim, h / p, w / p).to(stored.device());
}

at::Tensor MaskedAutoencoderImpl::patchify(const at::Tensor& images) const {
  const auto p = config_.patch_size;
  const auto n = images.size(0), c = images.size(1), h = images.size(2) / p, w = images.size(3) / p;
  grid(images.size(2), images.size(3));
  // n c h p w q → n h w p q c
  return images.reshape({n, c, h, p, w, p})
      .permute({0, 2, 4, 3, 5, 1})
      .reshape({n, h * w, p * p * c});
}

at::Tensor MaskedAutoencoderImpl::unpatchify(const at::Tensor& patches, std::int64_t height,
                                             std::int64_t width) const {
  const auto p = config_.patch_size;
  const auto n = patches.size(0), h = height / p, w = width / p;
  const auto c = patches.size(2) / (p * p);
  return patches.reshape({n, h, w, p, p, c})
      .permute({0, 5, 1, 3, 2, 4})
      .reshape({n, c, h * p, w * p});
}

std::pair<at::Tensor, MaskedTokens> MaskedAutoencoderImpl::forward_encoder(const at::Tensor& images,
                                                                           const at::Tensor& noise,
                                                                           std::int64_t keep) {
  const auto pe = pos_embed_for(images.size(2), images.size(3), config_.embed_dim, false);
  at::Tensor x = patch_embed->forward(images) + pe.slice(1, 1);
  MaskedTokens m = mask_by_noise(x, noise, keep);
  const at::Tensor cls = (cls_token + pe.slice(1, 0, 1)).expand({x.size(0), -1, -1});
  at::Tensor h = at::cat({cls, m.kept}, 1);
  for (auto& b : blocks_)
    h = b->forward(h);
  return {norm->forward(h), std::move(m)};
}

at::Tensor MaskedAutoencoderImpl::forward_decoder(const at::Tensor& encoded,
                                                  const at::Tensor& ids_restore,
                                                  std::int64_t height, std::int64_t width) {
  at::Tensor x = decoder_embed->forward(encoded);
  const auto n = x.size(0), l = ids_restore.size(1), d = x.size(2);
  const at::Tensor mask_tokens = mask_token.expand({n, l + 1 - x.size(1), d});
  at::Tensor patches = at::cat({x.slice(1, 1), mask_tokens}, 1);
  patches = at::gather(patches, 1, ids_restore.unsqueeze(-1).expand({n, l, d}));
  x = at::cat({x.slice(1, 0, 1), patches}, 1) +
      pos_embed_for(height, width, config_.decoder_embed_dim, true);
  for (auto& b : decoder_blocks_)
    x = b->forward(x);
  return decoder_pred->forward(decoder_norm->forward(x)).slice(1, 1);
}

at::Tensor MaskedAutoencoderImpl::loss(const at::Tensor& images, const at::Tensor& pred,
                                       const at::Tensor& mask) const {
  at::Tensor target = patchify(images);
  if (config_.norm_pix_loss) {
    const at::Tensor mean = target.mean(-1, true);
    const at::Tensor var = target.var(-1, /*unbiased=*/true, true);
    target = (target - mean) / at::sqrt(var + 1e-6);
  }
  const at::Tensor per_patch = (pred - target).pow(2).mean(-1);
  return (per_patch * mask).sum() / mask.sum();
}

at::Tensor MaskedAutoencoderImpl::denormalise_prediction(const at::Tensor& images,
                                                         const at::Tensor& pred,
                                                         const at::Tensor& mask) const {
  const at::Tensor target = patchify(images);
  const at::Tensor visible = (1 - mask).unsqueeze(-1);
  const at::Tensor count = visible.sum(1, true);
  const at::Tensor mu = (target.mean(-1, true) * visible).sum(1, true) / count;
  const at::Tensor var = (target.var(-1, true, true) * visible).sum(1, true) / count;
  return pred * at::sqrt(var + 1e-6) + mu;
}

at::Tensor MaskedAutoencoderImpl::cls_attention(const at::Tensor& images) {
  const auto pe = pos_embed_for(images.size(2), images.size(3), config_.embed_dim, false);
  at::Tensor x = patch_embed->forward(images) + pe.slice(1, 1);
  const at::Tensor cls = (cls_token + pe.slice(1, 0, 1)).expand({x.size(0), -1, -1});
  at::Tensor h = at::cat({cls, x}, 1);
  for (std::size_t i = 0; i + 1 < blocks_.size(); ++i)
    h = blocks_[i]->forward(h);
  auto& last = blocks_.back();
  const auto n = h.size(0), t = h.size(1), d = h.size(2), heads = config_.num_heads;
  const at::Tensor qkv = last->attn->qkv->forward(last->norm1->forward(h))
                             .reshape({n, t, 3, heads, d / heads})
                             .permute({2, 0, 3, 1, 4});
  const at::Tensor q_cls = qkv[0].slice(2, 0, 1);   // N×H×1×dh
  const at::Tensor k_patches = qkv[1].slice(2, 1);  // N×H×L×dh
  const double scale = 1.0 / std::sqrt(static_cast<double>(d / heads));
  const at::Tensor logits = at::matmul(q_cls, k_patches.transpose(-2, -1)).squeeze(2) * scale;
  return at::softmax(logits, -1).mean(1);
}

std::vector<at::Tensor> MaskedAutoencoderImpl::attention_maps(const at::Tensor& images) {
  const auto pe = pos_embed_for(images.size(2), images.size(3), config_.embed_dim, false);
  at::Tensor x = patch_embed->forward(images) + pe.slice(1, 1);
  const at::Tensor cls = (cls_token + pe.slice(1, 0, 1)).expand({x.size(0), -1, -1});
  at::Tensor h = at::cat({cls, x}, 1);
  std::vector<at::Tensor> maps(blocks_.size());
  // Each block computes its weights once, in the pass that also gives the next block's input;
  // the last block's output is not needed, so it stops at its weights.
  for (std::size_t i = 0; i + 1 < blocks_.size(); ++i)
    h = blocks_[i]->forward(h, nullptr, std::nullopt, 0, &maps[i]);
  auto& last = blocks_.back();
  const auto n = h.size(0), t = h.size(1), d = h.size(2), heads = config_.num_heads;
  const at::Tensor qkv = last->attn->qkv->forward(last->norm1->forward(h))
                             .reshape({n, t, 3, heads, d / heads})
                             .permute({2, 0, 3, 1, 4});
  const double scale = 1.0 / std::sqrt(static_cast<double>(d / heads));
  maps.back() = at::softmax(at::matmul(qkv[0], qkv[1].transpose(-2, -1)) * scale, -1);
  return maps;
}

at::Tensor MaskedAutoencoderImpl::patch_attention(const at::Tensor& images) {
  const auto maps = attention_maps(images);
  at::Tensor sum;
  for (const auto& m : maps) {
    const at::Tensor received = m.mean(1).slice(1, 1).slice(2, 1).mean(1);
    sum = sum.defined() ? sum + received : received;
  }
  return sum / static_cast<double>(maps.size());
}

MaeConfig mae_preset(const std::string& name) {
  MaeConfig c;
  auto set = [&](std::int64_t img, std::int64_t p, std::int64_t d, std::int64_t depth,
                 std::int64_t heads, std::int64_t dd, std::int64_t ddepth, std::int64_t dheads) {
    c.img_size = img;
    c.patch_size = p;
    c.embed_dim = d;
    c.depth = depth;
    c.num_heads = heads;
    c.decoder_embed_dim = dd;
    c.decoder_depth = ddepth;
    c.decoder_num_heads = dheads;
  };
  if (name == "mae_mini") {
    set(224, 16, 480, 4, 12, 384, 2, 12);
  } else if (name == "mae_base") {
    set(224, 16, 768, 12, 12, 512, 8, 16);
  } else if (name == "mae_large") {
    set(224, 16, 1024, 24, 16, 512, 8, 16);
  } else if (name == "mae_tiny_patch4_28") {
    set(28, 4, 64, 3, 4, 64, 1, 4);
  } else if (name == "mae_tiny_patch4_32") {
    set(32, 4, 64, 3, 4, 64, 1, 4);
  } else {
    throw ConfigError("unknown MAE preset '" + name +
                      "' (known: mae_mini, mae_base, mae_large, mae_tiny_patch4_28, "
                      "mae_tiny_patch4_32)");
  }
  return c;
}

}  // namespace augcore::models

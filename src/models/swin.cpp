#include "augcore/models/swin.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>
#include <numeric>

#include "augcore/core/error.h"
#include "augcore/models/blocks.h"
#include "augcore/models/model_registry.h"

namespace augcore::models {

namespace {

// N×H×W×C (H, W multiples of w) → (N·windows)×w×w×C, windows in row-major order.
at::Tensor window_partition(const at::Tensor& x, std::int64_t w) {
  const auto n = x.size(0), h = x.size(1), wd = x.size(2), c = x.size(3);
  return x.view({n, h / w, w, wd / w, w, c}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w, w, c});
}

at::Tensor window_reverse(const at::Tensor& windows, std::int64_t w, std::int64_t h,
                          std::int64_t wd) {
  const auto c = windows.size(-1);
  return windows.view({-1, h / w, wd / w, w, w, c})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({-1, h, wd, c});
}

// Swin's shifted-window mask over an H×W grid: windows×T×T, −100 between tokens that came from
// different regions of the cyclically shifted image.
at::Tensor shift_mask(std::int64_t h, std::int64_t w, std::int64_t window, std::int64_t shift) {
  at::Tensor regions = at::zeros({1, h, w, 1});
  const std::int64_t hs[4] = {0, h - window, h - shift, h};
  const std::int64_t ws[4] = {0, w - window, w - shift, w};
  double id = 0;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      regions.narrow(1, hs[i], hs[i + 1] - hs[i]).narrow(2, ws[j], ws[j + 1] - ws[j]).fill_(id);
      id += 1;
    }
  }
  const at::Tensor m = window_partition(regions, window).view({-1, window * window});
  const at::Tensor diff = m.unsqueeze(1) - m.unsqueeze(2);
  return at::zeros_like(diff).masked_fill_(diff.ne(0), -100.0);
}

}  // namespace

WindowAttentionImpl::WindowAttentionImpl(std::int64_t dim, std::int64_t heads, std::int64_t window,
                                         bool qkv_bias)
    : heads_(heads) {
  relative_position_bias_table = register_parameter(
      "relative_position_bias_table", at::zeros({(2 * window - 1) * (2 * window - 1), heads}));
  qkv = register_module("qkv",
                        torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
  // Relative offsets (dy, dx) of every token pair, shifted to ≥ 0 and flattened.
  const at::Tensor coords =
      at::stack(at::meshgrid({at::arange(window), at::arange(window)}, "ij")).flatten(1);  // 2×T
  const at::Tensor rel =
      (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}) + (window - 1);  // T×T×2
  index_ = rel.select(2, 0) * (2 * window - 1) + rel.select(2, 1);
}

at::Tensor WindowAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const auto b = x.size(0), t = x.size(1), c = x.size(2);
  const auto qkv_ =
      qkv->forward(x).reshape({b, t, 3, heads_, -1}).permute({2, 0, 3, 1, 4}).unbind(0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c / heads_));
  at::Tensor attn = at::matmul(qkv_[0] * scale, qkv_[1].transpose(-2, -1));
  const at::Tensor bias =
      relative_position_bias_table.index_select(0, index_.to(x.device()).view(-1));
  attn = attn + bias.view({t, t, heads_}).permute({2, 0, 1}).unsqueeze(0);
  if (mask.defined()) {
    const auto windows = mask.size(0);
    attn = (attn.view({-1, windows, heads_, t, t}) + mask.unsqueeze(1).unsqueeze(0))
               .view({-1, heads_, t, t});
  }
  const at::Tensor out = at::matmul(at::softmax(attn, -1), qkv_[2]);
  return proj->forward(out.transpose(1, 2).reshape({b, t, c}));
}

SwinBlockImpl::SwinBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t window,
                             std::int64_t shift, std::int64_t resolution, double mlp_ratio,
                             bool qkv_bias, double drop_path)
    : window_(std::min(window, resolution)),
      shift_(resolution <= window ? 0 : shift),
      drop_path_(drop_path) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  attn = register_module("attn", WindowAttention(dim, heads, window_, qkv_bias));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  mlp = register_module("mlp", Mlp(dim, static_cast<std::int64_t>(dim * mlp_ratio)));
}

at::Tensor SwinBlockImpl::windowed_attention(const at::Tensor& x) {
  const auto h = x.size(1), w = x.size(2), c = x.size(3);
  at::Tensor shifted = shift_ > 0 ? at::roll(x, {-shift_, -shift_}, {1, 2}) : x;
  const auto pad_h = (window_ - h % window_) % window_, pad_w = (window_ - w % window_) % window_;
  if (pad_h > 0 || pad_w > 0) shifted = at::constant_pad_nd(shifted, {0, 0, 0, pad_w, 0, pad_h});
  const auto hp = shifted.size(1), wp = shifted.size(2);
  const at::Tensor mask = shift_ > 0
                              ? shift_mask(hp, wp, window_, shift_).to(x.device(), x.scalar_type())
                              : at::Tensor();
  const at::Tensor windows = window_partition(shifted, window_).view({-1, window_ * window_, c});
  const at::Tensor out = attn->forward(windows, mask).view({-1, window_, window_, c});
  at::Tensor merged = window_reverse(out, window_, hp, wp).narrow(1, 0, h).narrow(2, 0, w);
  return shift_ > 0 ? at::roll(merged, {shift_, shift_}, {1, 2}) : merged.contiguous();
}

at::Tensor SwinBlockImpl::forward(const at::Tensor& x) {
  const auto n = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  at::Tensor y = x + drop_path(windowed_attention(norm1->forward(x)), drop_path_, is_training());
  y = y.reshape({n, -1, c});
  y = y + drop_path(mlp->forward(norm2->forward(y)), drop_path_, is_training());
  return y.reshape({n, h, w, c});
}

PatchMergingImpl::PatchMergingImpl(std::int64_t dim, std::int64_t out_dim) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({4 * dim})));
  reduction = register_module(
      "reduction", torch::nn::Linear(torch::nn::LinearOptions(4 * dim, out_dim).bias(false)));
}

at::Tensor PatchMergingImpl::forward(const at::Tensor& x) {
  const at::Tensor padded = at::constant_pad_nd(x, {0, 0, 0, x.size(2) % 2, 0, x.size(1) % 2});
  const auto n = padded.size(0), h = padded.size(1), w = padded.size(2), c = padded.size(3);
  // The four 2×2 neighbours in Swin's order (0,0), (1,0), (0,1), (1,1), concatenated per token.
  const at::Tensor merged =
      padded.reshape({n, h / 2, 2, w / 2, 2, c}).permute({0, 1, 3, 4, 2, 5}).flatten(3);
  return reduction->forward(norm->forward(merged));
}

SwinStageImpl::SwinStageImpl(std::int64_t dim, std::int64_t out_dim, bool downsample_first,
                             std::int64_t resolution, std::int64_t depth, std::int64_t heads,
                             const SwinConfig& c, const std::vector<double>& drop_path) {
  if (downsample_first) downsample = register_module("downsample", PatchMerging(dim, out_dim));
  torch::nn::ModuleList list;
  for (std::int64_t i = 0; i < depth; ++i) {
    blocks.push_back(SwinBlock(out_dim, heads, c.window_size, i % 2 == 0 ? 0 : c.window_size / 2,
                               resolution, c.mlp_ratio, c.qkv_bias, drop_path[i]));
    list->push_back(blocks.back());
  }
  register_module("blocks", list);
}

at::Tensor SwinStageImpl::forward(at::Tensor x) {
  if (downsample) x = downsample->forward(x);
  for (auto& b : blocks)
    x = b->forward(x);
  return x;
}

SwinPatchEmbedImpl::SwinPatchEmbedImpl(std::int64_t in_chans, std::int64_t dim,
                                       std::int64_t patch) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, dim, patch).stride(patch)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

at::Tensor SwinPatchEmbedImpl::forward(const at::Tensor& x) {
  return norm->forward(proj->forward(x).permute({0, 2, 3, 1}));
}

PooledHeadImpl::PooledHeadImpl(std::int64_t dim, std::int64_t classes) {
  fc = register_module("fc", torch::nn::Linear(dim, classes));
}

SwinImpl::SwinImpl(const SwinConfig& c) : config_(c) {
  const auto stages = static_cast<std::int64_t>(c.depths.size());
  if (stages < 1 || c.num_heads.size() != c.depths.size()) {
    throw ConfigError("model.num_heads: needs one head count per stage (" + std::to_string(stages) +
                      " stages)");
  }
  if (c.img_size % c.patch_size != 0) {
    throw ConfigError("model.patch_size: " + std::to_string(c.patch_size) +
                      " does not divide the image size " + std::to_string(c.img_size));
  }
  patch_embed =
      register_module("patch_embed", SwinPatchEmbed(c.in_chans, c.embed_dim, c.patch_size));
  if (c.mask_token) {
    const auto [gh, gw] = mask_grid();
    if (gh < 1 || (c.img_size / c.patch_size) % (c.mask_unit / c.patch_size) != 0 ||
        c.mask_unit % c.patch_size != 0) {
      throw ConfigError("model.mask_unit: " + std::to_string(c.mask_unit) +
                        "-pixel units do not tile the patch grid of " + std::to_string(c.img_size) +
                        "-pixel images");
    }
    mask_token = register_parameter("mask_token", at::zeros({1, 1, c.embed_dim}));
  }
  const std::int64_t total = std::accumulate(c.depths.begin(), c.depths.end(), std::int64_t{0});
  torch::nn::ModuleList list;
  std::int64_t resolution = c.img_size / c.patch_size, dim = c.embed_dim, done = 0;
  for (std::int64_t s = 0; s < stages; ++s) {
    const std::int64_t out_dim = c.embed_dim << s;
    if (s > 0) resolution = (resolution + 1) / 2;
    if (out_dim % c.num_heads[s] != 0) {
      throw ConfigError("model.num_heads: stage " + std::to_string(s) + " width " +
                        std::to_string(out_dim) + " is not divisible by " +
                        std::to_string(c.num_heads[s]) + " heads");
    }
    std::vector<double> rates;
    for (std::int64_t b = 0; b < c.depths[s]; ++b, ++done)
      rates.push_back(total > 1 ? c.drop_path * done / (total - 1) : 0.0);
    stages_.push_back(
        SwinStage(dim, out_dim, s > 0, resolution, c.depths[s], c.num_heads[s], c, rates));
    list->push_back(stages_.back());
    dim = out_dim;
  }
  register_module("layers", list);
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  head = register_module("head", PooledHead(dim, c.num_classes));

  // timm's init: trunc_normal(0.02) Linear weights with zero bias, and bias tables; the mask
  // token as augsub.
  torch::NoGradGuard no_grad;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* l = m->as<torch::nn::Linear>()) {
      trunc_normal_(l->weight, 0.02);
      if (l->bias.defined()) l->bias.zero_();
    }
    if (auto* a = m->as<WindowAttention>()) trunc_normal_(a->relative_position_bias_table, 0.02);
  }
  if (c.mask_token) trunc_normal_(mask_token, 0.02);
}

std::pair<std::int64_t, std::int64_t> SwinImpl::mask_grid() const {
  const std::int64_t side = config_.img_size / config_.mask_unit;
  return {side, side};
}

at::Tensor SwinImpl::encode(const at::Tensor& x, const ForwardOptions& options) {
  at::Tensor h = patch_embed->forward(x);
  if (h.size(1) * config_.patch_size != config_.img_size ||
      h.size(2) * config_.patch_size != config_.img_size) {
    throw std::invalid_argument("Swin built for " + std::to_string(config_.img_size) +
                                " px got an input of another size");
  }
  if (options.masked_units) {
    if (!mask_token.defined()) {
      throw std::invalid_argument("this Swin has no mask token (model.mask_token: true)");
    }
    const std::int64_t unit = config_.mask_unit / config_.patch_size;
    const at::Tensor m = options.masked_units->to(h.device(), h.scalar_type())
                             .repeat_interleave(unit, 1)
                             .repeat_interleave(unit, 2)
                             .unsqueeze(-1);
    h = h * (1 - m) + mask_token.view({1, 1, 1, -1}) * m;
  }
  for (auto& s : stages_)
    h = s->forward(h);
  return norm->forward(h).mean({1, 2});
}

at::Tensor SwinImpl::forward(const at::Tensor& x) {
  return head->fc->forward(encode(x, {}));
}

ForwardResult SwinImpl::forward_with(const at::Tensor& x, const ForwardOptions& options) {
  if (options.keep_tokens || options.return_attention || options.drop_path || options.dropout > 0 ||
      options.early_logits) {
    throw std::invalid_argument("a Swin supports masked_units only");
  }
  return {head->fc->forward(encode(x, options)), {}, {}};
}

at::Tensor SwinImpl::features(const at::Tensor& x) {
  return encode(x, {});
}

std::int64_t SwinImpl::num_layer_ids() const {
  return std::accumulate(config_.depths.begin(), config_.depths.end(), std::int64_t{0}) + 2;
}

std::int64_t SwinImpl::layer_id(const std::string& parameter) const {
  auto starts = [&](const char* prefix) { return parameter.rfind(prefix, 0) == 0; };
  if (starts("patch_embed.") || parameter == "mask_token") return 0;
  if (!starts("layers.")) return num_layer_ids() - 1;
  const std::size_t dot = parameter.find('.', 7);
  const auto stage = std::stoll(parameter.substr(7, dot - 7));
  const std::int64_t before =
      std::accumulate(config_.depths.begin(), config_.depths.begin() + stage, std::int64_t{0});
  const std::string rest = parameter.substr(dot + 1);
  if (rest.rfind("downsample.", 0) == 0) return before;
  return before + 1 + std::stoll(rest.substr(7));  // "blocks.<b>."
}

namespace {

config::Schema swin_options(const SwinConfig& d) {
  config::Schema s;
  s.add_int("img_size", 0, "input side in pixels; 0 = the data's").range(0, 4096);
  s.add_int("patch_size", d.patch_size, "patch side in pixels").range(1, 1024);
  s.add_int("embed_dim", d.embed_dim, "width of the first stage (doubling per stage)")
      .range(1, 1 << 16);
  s.add_ints("depths", d.depths, "blocks per stage").items(1, 8).range(1, 1000);
  s.add_ints("num_heads", d.num_heads, "attention heads per stage").items(1, 8).range(1, 1024);
  s.add_int("window_size", d.window_size, "attention window side in tokens").range(1, 1024);
  s.add_float("mlp_ratio", d.mlp_ratio, "MLP hidden width / stage width").range(0.01, 64);
  s.add_bool("qkv_bias", true, "bias on the qkv projection");
  s.add_float("drop_path", 0.0, "stochastic depth rate of the last block (linear ramp)")
      .range(0, 1);
  s.add_bool("mask_token", false,
             "a learned mask token for MaskSub's sub pass (augsub's Swin); not in timm weights");
  s.add_int("mask_unit", d.mask_unit, "side in pixels of a unit MaskSub masks").range(1, 4096);
  return s;
}

bool register_swin(const std::string& name, const std::string& doc, const SwinConfig& d) {
  return register_model(
      name, doc, swin_options(d), [](const config::Options& o, const ModelShape& shape) {
        SwinConfig c;
        c.img_size = o.integer("img_size") > 0 ? o.integer("img_size") : shape.image_size;
        c.patch_size = o.integer("patch_size");
        c.embed_dim = o.integer("embed_dim");
        c.depths = o.integers("depths");
        c.num_heads = o.integers("num_heads");
        c.window_size = o.integer("window_size");
        c.mlp_ratio = o.real("mlp_ratio");
        c.qkv_bias = o.boolean("qkv_bias");
        c.drop_path = o.real("drop_path");
        c.mask_token = o.boolean("mask_token");
        c.mask_unit = o.integer("mask_unit");
        c.in_chans = shape.in_chans;
        c.num_classes = shape.num_classes;
        return std::make_shared<SwinImpl>(c);
      });
}

SwinConfig preset(std::int64_t dim, std::vector<std::int64_t> depths,
                  std::vector<std::int64_t> heads) {
  SwinConfig c;
  c.embed_dim = dim;
  c.depths = std::move(depths);
  c.num_heads = std::move(heads);
  return c;
}

const bool registered = register_swin("swin", "Swin Transformer, every size option explicit",
                                      preset(96, {2, 2, 6, 2}, {3, 6, 12, 24})) &&
                        register_swin("swin_tiny_patch4_window7_224", "Swin-T (timm names)",
                                      preset(96, {2, 2, 6, 2}, {3, 6, 12, 24})) &&
                        register_swin("swin_small_patch4_window7_224", "Swin-S (timm names)",
                                      preset(96, {2, 2, 18, 2}, {3, 6, 12, 24})) &&
                        register_swin("swin_base_patch4_window7_224", "Swin-B (timm names)",
                                      preset(128, {2, 2, 18, 2}, {4, 8, 16, 32}));

}  // namespace
}  // namespace augcore::models

#include "augcore/augment/mra.h"

#include <ATen/ATen.h>

#include <fmt/core.h>

#include <cmath>

#include "augcore/augment/gate.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/state_dict.h"

namespace augcore::augment {
namespace {

const std::vector<double> kImageNetMean{0.485, 0.456, 0.406}, kImageNetStd{0.229, 0.224, 0.225};

// The list mae_pretrain stored under `key` in the checkpoint, else empty.
std::vector<double> stored_list(const c10::IValue& payload, const std::string& key) {
  std::vector<double> v;
  if (!payload.isGenericDict()) return v;
  const auto d = payload.toGenericDict();
  const auto it = d.find(key);
  if (it == d.end() || !it->value().isList()) return v;
  for (const auto& x : it->value().toListRef()) {
    if (x.isDouble()) v.push_back(x.toDouble());
  }
  return v;
}

}  // namespace

std::int64_t augment_keep_count(std::int64_t patches, double ratio) {
  return patches - static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * ratio));
}

MraAugmentorImpl::MraAugmentorImpl(models::MaskedAutoencoder mae, MraOptions options)
    : mae_(register_module("mae", std::move(mae))), options_(std::move(options)) {
  if (!(options_.mask_ratio() >= 0 && options_.mask_ratio() <= 0.99)) {
    throw OptionError("MraOptions", "mask_ratio",
                      fmt::format("{} is outside [0, 0.99]", options_.mask_ratio()));
  }
  check_probability(options_.p(), "MraOptions");
  if (options_.mean().empty()) options_.mean(kImageNetMean);
  if (options_.std().empty()) options_.std(kImageNetStd);
  const auto c = static_cast<std::size_t>(mae_->config().in_chans);
  for (const auto* name : {"mean", "std"}) {
    const auto& v = std::string(name) == "mean" ? options_.mean() : options_.std();
    if (v.size() != 1 && v.size() != c) {
      throw OptionError("MraOptions", name,
                        fmt::format("{} values for an augmentor of {} channels", v.size(), c));
    }
  }
  mae_->eval();
  for (auto& p : mae_->parameters())
    p.set_requires_grad(false);
}

void MraAugmentorImpl::check(const at::Tensor& images) const {
  check_images(images, "MraAugmentor");
  const auto c = mae_->config().in_chans, p = mae_->config().patch_size;
  if (images.size(1) != c && !(images.size(1) == 1 && c == 3)) {
    throw OptionError("MraAugmentor", "images",
                      fmt::format("{} channels for an augmentor of {}", images.size(1), c));
  }
  if (images.size(2) % p != 0 || images.size(3) % p != 0) {
    throw OptionError("MraAugmentor", "images",
                      fmt::format("the augmentor's patch size {} does not divide {}×{} images", p,
                                  images.size(2), images.size(3)));
  }
  const at::Device device = mae_->parameters().front().device();
  if (images.device() != device) {
    throw OptionError("MraAugmentor", "images",
                      fmt::format("on {}, the augmentor on {}: move one of them",
                                  images.device().str(), device.str()));
  }
}

std::pair<at::Tensor, at::Tensor> MraAugmentorImpl::prepare(const at::Tensor& images,
                                                            const at::Tensor& noise) {
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  // A grey classifier with an RGB augmentor: replicate in (and average out in augment()).
  const bool grey_to_rgb = images.size(1) == 1 && mae_->config().in_chans == 3;
  const at::Tensor pixels = grey_to_rgb ? images.expand({n, 3, h, w}) : images;
  const at::Tensor mean = channel_tensor(options_.mean(), pixels, "MraOptions", "mean");
  const at::Tensor std = channel_tensor(options_.std(), pixels, "MraOptions", "std");
  const at::Tensor x = (pixels - mean) / std;
  switch (options_.mode()) {
    case MaskMode::kLow:  // keep the highest-attention patches: mask the low ones
      return {x, -attention(x)};
    case MaskMode::kHigh:
      return {x, attention(x)};
    case MaskMode::kRandom:
      break;
  }
  return {x, noise.to(x.device())};
}

std::pair<at::Tensor, at::Tensor> MraAugmentorImpl::attention_and_mask(const at::Tensor& images,
                                                                       const at::Tensor& noise) {
  at::NoGradGuard no_grad;
  check(images);
  const auto [x, order] = prepare(images, noise);
  const auto keep =
      augment_keep_count(mae_->grid(images.size(2), images.size(3)), options_.mask_ratio());
  const at::Tensor tokens = at::zeros({x.size(0), order.size(1), 1}, x.options());
  return {attention(x), models::mask_by_noise(tokens, order, keep).mask};
}

at::Tensor MraAugmentorImpl::attention(const at::Tensor& x) {
  return options_.attention() == AttentionReading::kCls ? mae_->cls_attention(x)
                                                        : mae_->patch_attention(x);
}

at::Tensor MraAugmentorImpl::augment(const at::Tensor& images, const at::Tensor& noise) {
  at::NoGradGuard no_grad;
  check(images);
  const at::Tensor input = images.to(mae_->parameters().front().scalar_type());
  const auto n = input.size(0), h = input.size(2), w = input.size(3);
  const auto c = mae_->config().in_chans;
  const bool grey_to_rgb = input.size(1) == 1 && c == 3;
  const at::Tensor pixels = grey_to_rgb ? input.expand({n, 3, h, w}) : input;
  const auto [x, order] = prepare(input, noise);
  const auto patches = mae_->grid(h, w);
  const auto keep = augment_keep_count(patches, options_.mask_ratio());
  auto [encoded, masking] = mae_->forward_encoder(x, order, keep);
  at::Tensor pred = mae_->forward_decoder(encoded, masking.ids_restore, h, w);
  if (options_.norm_pix()) pred = mae_->denormalise_prediction(x, pred, masking.mask);
  const at::Tensor mean = channel_tensor(options_.mean(), pixels, "MraOptions", "mean");
  const at::Tensor std = channel_tensor(options_.std(), pixels, "MraOptions", "std");
  at::Tensor recon = mae_->unpatchify(pred, h, w) * std + mean;
  if (options_.paste_visible()) {
    const auto p = mae_->config().patch_size;
    const at::Tensor mask_img =
        mae_->unpatchify(masking.mask.unsqueeze(-1).expand({n, patches, p * p * c}), h, w);
    recon = pixels * (1 - mask_img) + recon * mask_img;
  }
  if (grey_to_rgb) recon = recon.mean(1, true);
  return like_input(recon.clamp_(0, 1), images);
}

MraDraw MraAugmentorImpl::sample(const at::Tensor& images, at::Generator generator) const {
  check(images);
  const auto n = images.size(0);
  const at::Tensor chosen = draw_gate(options_.p(), n, generator);
  MraDraw draw;
  draw.rows = chosen.nonzero().squeeze(1);
  const auto patches = mae_->grid(images.size(2), images.size(3));
  if (draw.rows.numel() > 0) draw.noise = at::rand({draw.rows.numel(), patches}, generator);
  return draw;
}

at::Tensor MraAugmentorImpl::apply(const at::Tensor& images, const MraDraw& draw) {
  if (draw.rows.numel() == 0) return images;
  const at::Tensor rows = draw.rows.to(images.device());
  const at::Tensor out = augment(images.index_select(0, rows), draw.noise);
  return like_input(images.index_copy(0, rows, out), images);
}

at::Tensor MraAugmentorImpl::forward(const at::Tensor& images, at::Generator generator) {
  return apply(images, sample(images, generator));
}

MraAugmentor load_mra_augmentor(const std::string& checkpoint, const models::MaeConfig& config,
                                MraOptions options) {
  models::MaskedAutoencoder mae(config);
  const c10::IValue payload = pth::load(checkpoint);
  const auto report =
      models::load_state_dict(*mae, models::find_state_dict(payload, checkpoint), true);
  if (!report.ok()) {
    throw DataError(checkpoint + ": does not fit the MAE architecture (patch " +
                    std::to_string(config.patch_size) + ", width " +
                    std::to_string(config.embed_dim) + "): " + report.describe());
  }
  if (options.mean().empty()) options.mean(stored_list(payload, "mean"));
  if (options.std().empty()) options.std(stored_list(payload, "std"));
  return MraAugmentor(std::move(mae), std::move(options));
}

}  // namespace augcore::augment

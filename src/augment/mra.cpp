#include "augcore/augment/mra.h"

#include <ATen/ATen.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/core/fingerprint.h"
#include "augcore/core/pth.h"
#include "augcore/models/state_dict.h"

namespace augcore::augment {

std::int64_t augment_keep_count(std::int64_t patches, double ratio) {
  return patches - static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * ratio));
}

MraPolicy::MraPolicy(models::MaskedAutoencoder mae, MraOptions options, at::Device device)
    : mae_(std::move(mae)), options_(std::move(options)) {
  mae_->to(device);
  mae_->eval();
  for (auto& p : mae_->parameters())
    p.set_requires_grad(false);
  mean_ = channel_values(options_.mean, mae_->config().in_chans, device);
  std_ = channel_values(options_.std, mae_->config().in_chans, device);
}

std::pair<at::Tensor, at::Tensor> MraPolicy::prepare(const at::Tensor& images,
                                                     const at::Tensor& random_noise) {
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  // A grey classifier with an RGB augmentor: replicate in (and average out in augment()).
  const bool grey_to_rgb = images.size(1) == 1 && mae_->config().in_chans == 3;
  const at::Tensor pixels = grey_to_rgb ? images.expand({n, 3, h, w}) : images;
  const at::Tensor x = (pixels - mean_) / std_;
  switch (options_.mode) {
    case MaskMode::kLow:  // keep the highest-attention patches: mask the low ones
      return {x, -attention(x)};
    case MaskMode::kHigh:
      return {x, attention(x)};
    case MaskMode::kRandom:
      break;
  }
  return {x, random_noise.to(x.device())};
}

std::pair<at::Tensor, at::Tensor> MraPolicy::attention_and_mask(const at::Tensor& images,
                                                                const at::Tensor& random_noise) {
  at::NoGradGuard no_grad;
  const auto [x, noise] = prepare(images, random_noise);
  const auto keep =
      augment_keep_count(mae_->grid(images.size(2), images.size(3)), options_.mask_ratio);
  const at::Tensor tokens = at::zeros({x.size(0), noise.size(1), 1}, x.options());
  return {attention(x), models::mask_by_noise(tokens, noise, keep).mask};
}

at::Tensor MraPolicy::attention(const at::Tensor& x) {
  return options_.attention == AttentionReading::kCls ? mae_->cls_attention(x)
                                                      : mae_->patch_attention(x);
}

at::Tensor MraPolicy::augment(const at::Tensor& images, const at::Tensor& random_noise) {
  at::NoGradGuard no_grad;
  const auto n = images.size(0), h = images.size(2), w = images.size(3);
  const auto c = mae_->config().in_chans;
  const bool grey_to_rgb = images.size(1) == 1 && c == 3;
  const at::Tensor pixels = grey_to_rgb ? images.expand({n, 3, h, w}) : images;
  const auto [x, noise] = prepare(images, random_noise);
  const auto patches = mae_->grid(h, w);
  const auto keep = augment_keep_count(patches, options_.mask_ratio);
  auto [encoded, masking] = mae_->forward_encoder(x, noise, keep);
  at::Tensor pred = mae_->forward_decoder(encoded, masking.ids_restore, h, w);
  if (options_.norm_pix) pred = mae_->denormalise_prediction(x, pred, masking.mask);
  at::Tensor recon = mae_->unpatchify(pred, h, w) * std_ + mean_;
  if (options_.paste_visible) {
    const auto p = mae_->config().patch_size;
    const at::Tensor mask_img =
        mae_->unpatchify(masking.mask.unsqueeze(-1).expand({n, patches, p * p * c}), h, w);
    recon = pixels * (1 - mask_img) + recon * mask_img;
  }
  if (grey_to_rgb) recon = recon.mean(1, true);
  return recon.clamp_(0, 1);
}

void MraPolicy::apply(PolicyBatch& batch, StepContext& context) {
  const auto n = batch.images.size(0);
  const at::Tensor chosen = at::empty({n}).bernoulli_(options_.p, context.generator).to(at::kBool);
  const at::Tensor rows = chosen.nonzero().squeeze(1).to(batch.images.device());
  if (rows.numel() == 0) return;
  const auto patches = mae_->grid(batch.images.size(2), batch.images.size(3));
  const at::Tensor noise = at::rand({rows.numel(), patches}, context.generator);
  const at::Tensor out = augment(batch.images.index_select(0, rows), noise);
  batch.images = batch.images.index_copy(0, rows, out);
}

namespace {

config::Schema mra_options() {
  config::Schema s;
  s.add_string("checkpoint", "", "MAE checkpoint (mae_pretrain's, or an official MAE .pth)")
      .require();
  s.add_choice("preset", "mae_mini",
               {"mae_mini", "mae_base", "mae_large", "mae_tiny_patch4_28", "mae_tiny_patch4_32"},
               "the checkpoint's architecture");
  s.add_int("in_chans", 3, "channels the augmentor was trained on").range(1, 64);
  s.add_float("mask_ratio", 0.4, "fraction of patches masked (MRA's best for MAE-Mini)")
      .range(0, 0.99);
  s.add_choice("mode", "low", {"low", "high", "random"},
               "mask the low-attention patches (MRA), the high ones, or random ones");
  s.add_choice("attention", "cls", {"cls", "patches"},
               "rank patches by the CLS row of the last block (the paper) or by the attention "
               "the patches pay them, averaged over blocks (docs/mra.md)");
  s.add_float("p", 1.0, "probability of augmenting each image").range(0, 1);
  s.add_bool("paste_visible", true, "kept patches are the original pixels");
  s.add_bool("norm_pix", false, "the checkpoint was trained with norm_pix_loss");
  s.add_floats("mean", {}, "the augmentor's input mean; [] = the checkpoint's, else ImageNet's")
      .items(0, 64);
  s.add_floats("std", {}, "the augmentor's input std; [] = the checkpoint's, else ImageNet's")
      .items(0, 64)
      .range(1e-6, 1e6);
  return s;
}

// The option when given, else the list mae_pretrain stored in the checkpoint, else ImageNet's.
std::vector<double> normalisation_of(const config::Options& o, const c10::IValue& payload,
                                     const std::string& key) {
  std::vector<double> v = o.reals(key);
  if (!v.empty()) return v;
  if (payload.isGenericDict()) {
    const auto d = payload.toGenericDict();
    const auto it = d.find(key);
    if (it != d.end() && it->value().isList()) {
      for (const auto& x : it->value().toListRef()) {
        if (x.isDouble()) v.push_back(x.toDouble());
      }
      if (!v.empty()) return v;
    }
  }
  return key == "mean" ? std::vector<double>{0.485, 0.456, 0.406}
                       : std::vector<double>{0.229, 0.224, 0.225};
}

MaskMode parse_mode(const std::string& s) {
  if (s == "high") return MaskMode::kHigh;
  if (s == "random") return MaskMode::kRandom;
  return MaskMode::kLow;
}

const bool registered = config::register_component(
    "policy", "mra", "mask-and-reconstruct with a frozen MAE (low-attention patches)",
    mra_options(),
    PolicyFactory([](const config::Options& o,
                     const PolicySetup& setup) -> std::unique_ptr<BatchPolicy> {
      models::MaeConfig c = models::mae_preset(o.string("preset"));
      c.in_chans = o.integer("in_chans");
      const auto p = c.patch_size;
      if (setup.height % p != 0 || setup.width % p != 0) {
        throw ConfigError(o.path() + ".preset: the augmentor's patch size " + std::to_string(p) +
                          " does not divide the " + std::to_string(setup.height) + "x" +
                          std::to_string(setup.width) + " training images");
      }
      if (setup.channels != c.in_chans && !(setup.channels == 1 && c.in_chans == 3)) {
        throw ConfigError(o.path() + ".in_chans: the augmentor takes " +
                          std::to_string(c.in_chans) + " channels, the images have " +
                          std::to_string(setup.channels));
      }
      models::MaskedAutoencoder mae(c);
      const std::string path = o.string("checkpoint");
      const c10::IValue payload = pth::load(path);
      const auto report =
          models::load_state_dict(*mae, models::find_state_dict(payload, path), true);
      if (!report.ok()) {
        throw DataError(path + ": does not fit MAE preset '" + o.string("preset") +
                        "': " + report.describe());
      }
      MraOptions m;
      m.mask_ratio = o.real("mask_ratio");
      m.mode = parse_mode(o.string("mode"));
      m.attention =
          o.string("attention") == "cls" ? AttentionReading::kCls : AttentionReading::kPatches;
      m.p = o.real("p");
      m.paste_visible = o.boolean("paste_visible");
      m.norm_pix = o.boolean("norm_pix");
      m.source = path + " " + file_fingerprint(path);
      m.mean = normalisation_of(o, payload, "mean");
      m.std = normalisation_of(o, payload, "std");
      for (const auto* v : {&m.mean, &m.std}) {
        if (v->size() != 1 && static_cast<std::int64_t>(v->size()) != c.in_chans) {
          throw ConfigError(o.path() + (v == &m.mean ? ".mean: " : ".std: ") +
                            std::to_string(v->size()) + " values for an augmentor of " +
                            std::to_string(c.in_chans) + " channels");
        }
      }
      return std::make_unique<MraPolicy>(std::move(mae), m, setup.device);
    }));

}  // namespace
}  // namespace augcore::augment

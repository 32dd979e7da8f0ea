#include "augcore/models/classifier.h"
#include "augcore/models/model_registry.h"

#include <ATen/ATen.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/state_dict.h"
#include "augcore/models/vit.h"
#include "core/log.h"

namespace augcore::models {

ForwardResult ClassifierImpl::forward_with(const at::Tensor& x, const ForwardOptions& options) {
  if (options.keep_tokens || options.return_attention || options.drop_path || options.dropout > 0 ||
      options.masked_units) {
    throw std::invalid_argument("this model has no patch tokens, attention or drop-path");
  }
  if (!options.early_logits) return {forward(x), {}, {}};
  if (!early_head_) throw std::invalid_argument("this model has no early head");
  const at::Tensor features = first_stage(x);
  return {after_first_stage(features),
          {},
          early_head_->forward(at::adaptive_avg_pool2d(features, {1, 1}).flatten(1))};
}

at::Tensor ClassifierImpl::features(const at::Tensor&) {
  throw std::invalid_argument("this model does not expose the features its head reads");
}

std::int64_t ClassifierImpl::layer_id(const std::string& parameter) const {
  throw std::invalid_argument("this model has no layer ids (for " + parameter + ")");
}

at::Tensor ClassifierImpl::first_stage(const at::Tensor&) {
  throw std::invalid_argument("this model has no first stage to split at");
}

at::Tensor ClassifierImpl::after_first_stage(const at::Tensor&) {
  throw std::invalid_argument("this model has no first stage to split at");
}

void ClassifierImpl::add_early_head() {
  const auto channels = first_stage_channels();
  if (channels <= 0) throw std::invalid_argument("this model has no first stage to split at");
  early_head_ = register_module("early_head", torch::nn::Linear(channels, num_classes()));
}

at::Tensor ClassifierImpl::early_logits(const at::Tensor& x) {
  if (!early_head_) throw std::invalid_argument("this model has no early head");
  return early_head_->forward(at::adaptive_avg_pool2d(first_stage(x), {1, 1}).flatten(1));
}

void add_common_model_options(config::Schema& schema) {
  schema.add_int("num_classes", 0, "classifier outputs; 0 = the dataset's class count")
      .range(0, 1 << 24);
  schema.add_int("in_chans", 0, "input channels; 0 = the data's").range(0, 64);
  schema.add_string("pretrained", "", "a torch.save state_dict to start from (path)");
  schema.add_bool("pretrained_ignore_head", false,
                  "skip the classifier head's weights when loading `pretrained` (fine-tuning)");
  schema.add_choice("pretrained_from", "classifier", {"classifier", "mae"},
                    "what `pretrained` holds: a classifier's state dict, or an MAE pre-training "
                    "checkpoint whose encoder starts a ViT (decoder ignored, head re-initialised)");
  schema.add_bool("early_head", false,
                  "add KeepAugment's early-loss head after the first stage (CNNs)");
}

bool register_model(const std::string& name, const std::string& doc, config::Schema options,
                    ModelFactory factory) {
  add_common_model_options(options);
  return config::register_component("model", name, doc, std::move(options), std::move(factory));
}

c10::impl::GenericDict fit_pos_embed(const c10::impl::GenericDict& dict, ClassifierImpl& model) {
  auto* vit = dynamic_cast<ViTImpl*>(&model);
  if (!vit || !dict.contains("pos_embed") || !dict.at("pos_embed").isTensor()) return dict;
  const at::Tensor saved = dict.at("pos_embed").toTensor();
  const at::Tensor own = *model.named_parameters().find("pos_embed");
  if (saved.dim() != 3 || saved.sizes() == own.sizes() || saved.size(2) != own.size(2)) return dict;
  const auto side = [](std::int64_t tokens) {
    const auto s = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
    return s * s == tokens ? s : std::int64_t{-1};
  };
  const std::int64_t from = side(saved.size(1) - 1), to = side(own.size(1) - 1);
  if (from < 1 || to < 1) return dict;
  // DeiT's and MAE's interpolate_pos_embed: the patch grid resized bicubically, CLS kept.
  const at::Tensor grid = saved.slice(1, 1).reshape({1, from, from, -1}).permute({0, 3, 1, 2});
  const at::Tensor resized =
      at::upsample_bicubic2d(grid.to(at::kFloat), {to, to}, /*align_corners=*/false)
          .permute({0, 2, 3, 1})
          .reshape({1, to * to, -1});
  auto out = dict.copy();
  out.insert_or_assign("pos_embed", at::cat({saved.slice(1, 0, 1), resized.to(saved.dtype())}, 1));
  log::info("pos_embed resized from a {}x{} to a {}x{} patch grid", from, from, to, to);
  return out;
}

void load_mae_encoder(ClassifierImpl& model, const std::string& path, const std::string& key) {
  auto* vit = dynamic_cast<ViTImpl*>(&model);
  if (!vit) throw ConfigError(key + ": an MAE encoder starts a ViT only");
  const auto dict = fit_pos_embed(find_state_dict(pth::load(path), path), model);
  // MAE's main_finetune.py: everything but the encoder is dropped; with global pooling the
  // encoder's final `norm` is too (fc_norm starts fresh), and the head is re-initialised.
  std::vector<std::string> ignore{
      "decoder_embed", "decoder_pos_embed", "decoder_blocks", "decoder_norm",
      "decoder_pred",  "mask_token",        "head",           "fc_norm"};
  if (vit->config().global_pool) ignore.emplace_back("norm");
  const LoadReport report = load_state_dict(model, dict, /*strict=*/true, ignore);
  if (!report.ok()) {
    throw DataError(path + ": not an MAE encoder for this ViT: " + report.describe());
  }
  at::Tensor head = *model.named_parameters().find("head.weight");  // a handle: in place
  trunc_normal_(head, 2e-5);
  torch::NoGradGuard no_grad;
  model.named_parameters().find("head.bias")->zero_();
  log::info("{}: MAE encoder loaded; {} tensors not used (decoder, mask token{})", path,
            report.ignored.size(), vit->config().global_pool ? ", encoder norm" : "");
}

std::shared_ptr<ClassifierImpl> make_model(const config::ComponentConfig& component,
                                           const ModelShape& data) {
  const config::Options o = component.options();
  ModelShape shape = data;
  if (o.integer("num_classes") > 0) shape.num_classes = o.integer("num_classes");
  if (o.integer("in_chans") > 0) shape.in_chans = o.integer("in_chans");
  const auto& factory = config::Registry::global().factory<ModelFactory>("model", component.name);
  auto model = factory(o, shape);
  const std::string path = o.string("pretrained");
  if (!path.empty() && o.string("pretrained_from") == "mae") {
    load_mae_encoder(*model, path, o.path() + ".pretrained");
  } else if (!path.empty()) {
    const auto dict = fit_pos_embed(find_state_dict(pth::load(path), path), *model);
    std::vector<std::string> ignore;
    if (o.boolean("pretrained_ignore_head")) ignore.push_back(model->head_name());
    const LoadReport report = load_state_dict(*model, dict, /*strict=*/true, ignore);
    if (!report.ok()) {
      throw DataError(path + ": does not fit model '" + component.name + "': " + report.describe());
    }
  }
  if (o.boolean("early_head")) {
    if (model->first_stage_channels() <= 0) {
      throw ConfigError(o.path() + ".early_head: model '" + component.name +
                        "' has no first stage to attach an early head to (ResNets only)");
    }
    model->add_early_head();
  }
  return model;
}

}  // namespace augcore::models

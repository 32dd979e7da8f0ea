// The `model` extension point: registered classifier factories built from recipe options.
#pragma once

#include <ATen/core/Dict.h>

#include <functional>
#include <memory>
#include <string>

#include "augcore/config/config.h"
#include "augcore/models/classifier.h"

namespace augcore::models {

// The factory signature of registered models (kind "model").
using ModelFactory =
    std::function<std::shared_ptr<ClassifierImpl>(const config::Options&, const ModelShape&)>;

// Options every model declares: num_classes / in_chans (0 = from the data), pretrained,
// pretrained_ignore_head, early_head.
void add_common_model_options(config::Schema& schema);

// Builds the model a validated component names; `data` fills num_classes/in_chans left at 0.
// Loads `pretrained` weights when set (throws DataError with PyTorch-style mismatch lists).
std::shared_ptr<ClassifierImpl> make_model(const config::ComponentConfig& component,
                                           const ModelShape& data);

// Starts a ViT from an MAE pre-training checkpoint (facebookresearch/mae's or mae_pretrain's):
// the encoder's tensors load unchanged; the decoder and mask token (and, with global pooling,
// the encoder's final norm) are ignored and logged; the head gets MAE's trunc-normal(2e-5)
// weights and zero bias. Errors name `key` or the file.
void load_mae_encoder(ClassifierImpl& model, const std::string& path, const std::string& key);

// `dict` with its pos_embed resized (bicubic over the patch grid, CLS token kept, as DeiT and
// MAE fine-tune at another resolution) when `model` is a ViT with another square grid;
// otherwise `dict` itself.
c10::impl::GenericDict fit_pos_embed(const c10::impl::GenericDict& dict, ClassifierImpl& model);

// Registers a model whose factory receives the resolved shape.
bool register_model(const std::string& name, const std::string& doc, config::Schema options,
                    ModelFactory factory);

}  // namespace augcore::models

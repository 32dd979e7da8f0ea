// The `model` extension point: registered classifier factories built from recipe options.
#pragma once

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

// Registers a model whose factory receives the resolved shape.
bool register_model(const std::string& name, const std::string& doc, config::Schema options,
                    ModelFactory factory);

}  // namespace augcore::models

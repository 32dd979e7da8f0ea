// Recipe `policies` entries → BatchPolicy objects: the factory signature of the registered
// policies (src/augment/components.cpp) and the functions that build them from a recipe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "augcore/augment/policy.h"
#include "augcore/config/config.h"

namespace augcore::augment {

// The factory signature of registered policies (kind "policy").
using PolicyFactory =
    std::function<std::unique_ptr<BatchPolicy>(const config::Options&, const PolicySetup&)>;

std::vector<std::unique_ptr<BatchPolicy>> make_policies(
    const std::vector<config::ComponentConfig>& components, const PolicySetup& setup);

// KeepAugment's saliency of the classifier being trained, by method name: "full", "low_res"
// or "early_head" (the model's early head; ConfigError naming `path` when it has none).
SaliencyFn classifier_saliency(const std::string& method, const PolicySetup& setup,
                               const std::string& path);

}  // namespace augcore::augment

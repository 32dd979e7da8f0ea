#include "augcore/augment/policy_registry.h"

#include <ATen/ATen.h>

#include "augcore/core/error.h"

namespace augcore::augment {

std::vector<std::unique_ptr<BatchPolicy>> make_policies(
    const std::vector<config::ComponentConfig>& components, const PolicySetup& setup) {
  std::vector<std::unique_ptr<BatchPolicy>> out;
  for (const auto& c : components) {
    out.push_back(
        config::Registry::global().factory<PolicyFactory>("policy", c.name)(c.options(), setup));
  }
  return out;
}

SaliencyFn classifier_saliency(const std::string& method, const PolicySetup& setup,
                               const std::string& path) {
  models::ClassifierImpl* model = setup.model;
  const bool early = method == "early_head";
  if (early && (model == nullptr || !model->has_early_head())) {
    throw ConfigError(path + ": early_head needs a model with `early_head: true` (ResNets)");
  }
  if (model == nullptr) {
    return [](const at::Tensor&, const at::Tensor&) -> at::Tensor {
      throw std::logic_error("KeepAugment needs the classifier");
    };
  }
  LogitsFn logits = early
                        ? LogitsFn([model](const at::Tensor& x) { return model->early_logits(x); })
                        : LogitsFn([model](const at::Tensor& x) { return model->forward(x); });
  return gradient_saliency(
      in_eval_mode(*model, std::move(logits)),
      SaliencyOptions()
          .mean(setup.mean)
          .std(setup.std)
          .method(method == "low_res" ? SaliencyMethod::kLowRes : SaliencyMethod::kFull));
}

}  // namespace augcore::augment

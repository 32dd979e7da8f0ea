#include "augcore/objective/objective_registry.h"

#include "augcore/core/error.h"

namespace augcore::objective {

std::unique_ptr<Objective> make_objective(const config::ComponentConfig& component,
                                          Criterion criterion) {
  const auto& factory =
      config::Registry::global().factory<ObjectiveFactory>("objective", component.name);
  return factory(component.options(), std::move(criterion));
}

config::Schema criterion_schema() {
  config::Schema s;
  s.add_choice("kind", "ce", {"ce", "bce"}, "cross-entropy, or binary cross-entropy per class");
  s.add_float("label_smoothing", 0.0, "label smoothing for hard targets").range(0, 1);
  s.add_bool("binary_targets", false,
             "bce: the batch's targets after mixing become 1 wherever > 0 (DeiT-III)");
  return s;
}

Criterion make_criterion(const config::Options& loss) {
  if (loss.boolean("binary_targets") && loss.string("kind") != "bce") {
    throw ConfigError(loss.path() + ".binary_targets: needs kind: bce");
  }
  return Criterion(loss.string("kind") == "bce" ? CriterionKind::kBinaryCrossEntropy
                                                : CriterionKind::kCrossEntropy,
                   loss.real("label_smoothing"));
}

}  // namespace augcore::objective

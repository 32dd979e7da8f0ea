#include "augcore/objective/objective.h"

namespace augcore::objective {

std::unique_ptr<Objective> make_objective(const config::ComponentConfig& component,
                                          Criterion criterion) {
  const auto& factory =
      config::Registry::global().factory<ObjectiveFactory>("objective", component.name);
  return factory(component.options(), std::move(criterion));
}

namespace {

class Standard : public Objective {
 public:
  explicit Standard(Criterion criterion) : criterion_(std::move(criterion)) {}
  ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets) override {
    ObjectiveResult r;
    r.logits = model.forward(images);
    r.loss = criterion_(r.logits, targets);
    return r;
  }

 private:
  Criterion criterion_;
};

const bool registered = config::register_component(
    "objective", "standard", "the loss of one forward pass", config::Schema(),
    ObjectiveFactory([](const config::Options&, Criterion c) -> std::unique_ptr<Objective> {
      return std::make_unique<Standard>(std::move(c));
    }));

}  // namespace
}  // namespace augcore::objective

#include "augcore/objective/objective.h"

#include "augcore/objective/objective_registry.h"

namespace augcore::objective {

ObjectiveResult main_pass(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets, const Criterion& criterion,
                          double early_weight) {
  ObjectiveResult r;
  if (!model.has_early_head()) {
    r.logits = model.forward(images);
    r.loss = criterion(r.logits, targets);
    return r;
  }
  models::ForwardOptions options;
  options.early_logits = true;
  const models::ForwardResult out = model.forward_with(images, options);
  r.logits = out.logits;
  const at::Tensor early = criterion(out.early_logits, targets);
  r.loss = criterion(r.logits, targets) + early_weight * early;
  r.metrics["train_loss_early"] = early.detach();
  return r;
}

void Objective::check(const models::ClassifierImpl&, std::int64_t, std::int64_t) const {}

void Objective::start_epoch(std::int64_t, std::int64_t) {}

namespace {

class Standard : public Objective {
 public:
  Standard(Criterion criterion, double early_weight)
      : criterion_(std::move(criterion)), early_weight_(early_weight) {}
  ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets, ObjectiveContext&) override {
    return main_pass(model, images, targets, criterion_, early_weight_);
  }

 private:
  Criterion criterion_;
  double early_weight_;
};

config::Schema standard_options() {
  config::Schema s;
  s.add_float("early_head_weight", 0.3,
              "weight of the early head's loss when the model has one (KeepAugment: 0.3)")
      .range(0, 100);
  return s;
}

const bool registered = config::register_component(
    "objective", "standard", "the loss of one forward pass", standard_options(),
    ObjectiveFactory([](const config::Options& o, Criterion c) -> std::unique_ptr<Objective> {
      return std::make_unique<Standard>(std::move(c), o.real("early_head_weight"));
    }));

}  // namespace
}  // namespace augcore::objective

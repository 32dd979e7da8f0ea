#include "augcore/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace augcore::train {

LrSchedule::LrSchedule(const Shape& shape, std::int64_t warmup_steps, double warmup_lr)
    : shape_(shape), warmup_steps_(warmup_steps), warmup_lr_(warmup_lr) {}

double LrSchedule::lr(std::int64_t step) const {
  if (step < warmup_steps_) {
    return warmup_lr_ + (shape_.base_lr - warmup_lr_) * static_cast<double>(step) / warmup_steps_;
  }
  return decay(step);
}

std::unique_ptr<LrSchedule> make_schedule(const config::ComponentConfig& component,
                                          const LrSchedule::Shape& shape) {
  return config::Registry::global().factory<ScheduleFactory>("schedule", component.name)(
      component.options(), shape);
}

namespace {

std::int64_t warmup_steps(const config::Options& o, const LrSchedule::Shape& s) {
  const auto steps = o.integer("warmup_steps");
  return steps > 0 ? steps : static_cast<std::int64_t>(o.real("warmup_epochs") * s.steps_per_epoch);
}

class Cosine : public LrSchedule {
 public:
  Cosine(const config::Options& o, const Shape& s)
      : LrSchedule(s, warmup_steps(o, s), o.real("warmup_lr")), min_lr_(o.real("min_lr")) {}

 protected:
  double decay(std::int64_t step) const override {
    const double total =
        static_cast<double>(shape_.steps_per_epoch * shape_.epochs - warmup_steps_);
    const double t = total > 0 ? std::min(1.0, (step - warmup_steps_) / total) : 1.0;
    return min_lr_ + 0.5 * (shape_.base_lr - min_lr_) * (1.0 + std::cos(M_PI * t));
  }

 private:
  double min_lr_;
};

// FixMatch's decay (Sohn et al. 2020): base_lr · cos(7πk / 16K) over the K steps after warmup,
// ending at cos(7π/16) ≈ 0.195 of the base rate.
class FixMatchCosine : public LrSchedule {
 public:
  FixMatchCosine(const config::Options& o, const Shape& s)
      : LrSchedule(s, warmup_steps(o, s), o.real("warmup_lr")) {}

 protected:
  double decay(std::int64_t step) const override {
    const double total =
        static_cast<double>(shape_.steps_per_epoch * shape_.epochs - warmup_steps_);
    const double t = total > 0 ? std::min(1.0, (step - warmup_steps_) / total) : 1.0;
    return shape_.base_lr * std::cos(7.0 * M_PI * t / 16.0);
  }
};

class MultiStep : public LrSchedule {
 public:
  MultiStep(const config::Options& o, const Shape& s, std::vector<std::int64_t> milestones)
      : LrSchedule(s, warmup_steps(o, s), o.real("warmup_lr")),
        milestones_(std::move(milestones)),
        gamma_(o.real("gamma")) {}

 protected:
  double decay(std::int64_t step) const override {
    const std::int64_t epoch = step / shape_.steps_per_epoch;
    const auto passed = std::count_if(milestones_.begin(), milestones_.end(),
                                      [&](std::int64_t m) { return epoch >= m; });
    return shape_.base_lr * std::pow(gamma_, static_cast<double>(passed));
  }

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

class Constant : public LrSchedule {
 public:
  Constant(const config::Options& o, const Shape& s)
      : LrSchedule(s, warmup_steps(o, s), o.real("warmup_lr")) {}

 protected:
  double decay(std::int64_t) const override { return shape_.base_lr; }
};

config::Schema warmup_options() {
  config::Schema s;
  s.add_float("warmup_epochs", 0.0, "linear warmup length in epochs").range(0, 1e6);
  s.add_int("warmup_steps", 0, "linear warmup length in steps (overrides warmup_epochs)")
      .range(0, 1LL << 40);
  s.add_float("warmup_lr", 0.0, "rate at the first warmup step").range(0, 100);
  return s;
}

config::Schema cosine_options() {
  config::Schema s = warmup_options();
  s.add_float("min_lr", 0.0, "rate at the end of the half cosine").range(0, 100);
  return s;
}

config::Schema step_options() {
  config::Schema s = warmup_options();
  s.add_int("step_size", 30, "epochs between decays").range(1, 1 << 30);
  s.add_float("gamma", 0.1, "decay factor").range(0, 1);
  return s;
}

config::Schema multistep_options() {
  config::Schema s = warmup_options();
  s.add_ints("milestones", {30, 60, 90}, "epochs at which the rate decays").range(0, 1 << 30);
  s.add_float("gamma", 0.1, "decay factor").range(0, 1);
  return s;
}

const bool registered =
    config::register_component(
        "schedule", "cosine", "half-cycle cosine from the base rate to min_lr, per iteration",
        cosine_options(),
        ScheduleFactory([](const config::Options& o,
                           const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> {
          return std::make_unique<Cosine>(o, s);
        })) &&
    config::register_component(
        "schedule", "step", "multiply by gamma every step_size epochs", step_options(),
        ScheduleFactory([](const config::Options& o,
                           const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> {
          std::vector<std::int64_t> milestones;
          for (std::int64_t e = o.integer("step_size"); e < s.epochs; e += o.integer("step_size")) {
            milestones.push_back(e);
          }
          return std::make_unique<MultiStep>(o, s, milestones);
        })) &&
    config::register_component(
        "schedule", "multistep", "multiply by gamma at each milestone epoch", multistep_options(),
        ScheduleFactory([](const config::Options& o,
                           const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> {
          return std::make_unique<MultiStep>(o, s, o.integers("milestones"));
        })) &&
    config::register_component(
        "schedule", "fixmatch_cosine", "FixMatch's base_lr x cos(7 pi k / 16 K), per iteration",
        warmup_options(),
        ScheduleFactory([](const config::Options& o,
                           const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> {
          return std::make_unique<FixMatchCosine>(o, s);
        })) &&
    config::register_component(
        "schedule", "constant", "the base rate throughout (after warmup)", warmup_options(),
        ScheduleFactory([](const config::Options& o,
                           const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> {
          return std::make_unique<Constant>(o, s);
        }));

}  // namespace
}  // namespace augcore::train

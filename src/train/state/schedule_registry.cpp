// The registered `schedule` components: recipe options turned into the typed schedules of
// schedule.h.
#include "augcore/train/state/schedule_registry.h"

namespace augcore::train {

std::unique_ptr<LrSchedule> make_schedule(const config::ComponentConfig& component,
                                          const LrSchedule::Shape& shape) {
  return config::Registry::global().factory<ScheduleFactory>("schedule", component.name)(
      component.options(), shape);
}

namespace {

WarmupOptions warmup_of(const config::Options& o, const LrSchedule::Shape& s) {
  const auto steps = o.integer("warmup_steps");
  return WarmupOptions()
      .steps(steps > 0 ? steps
                       : static_cast<std::int64_t>(o.real("warmup_epochs") * s.steps_per_epoch))
      .start_lr(o.real("warmup_lr"));
}

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

// A factory from a function of (options, shape) → the schedule.
template <typename Make>
ScheduleFactory factory(Make make) {
  return [make](const config::Options& o,
                const LrSchedule::Shape& s) -> std::unique_ptr<LrSchedule> { return make(o, s); };
}

const bool registered =
    config::register_component(
        "schedule", "cosine", "half-cycle cosine from the base rate to min_lr, per iteration",
        cosine_options(), factory([](const config::Options& o, const LrSchedule::Shape& s) {
          return std::make_unique<CosineSchedule>(
              s, CosineScheduleOptions().warmup(warmup_of(o, s)).min_lr(o.real("min_lr")));
        })) &&
    config::register_component(
        "schedule", "step", "multiply by gamma every step_size epochs", step_options(),
        factory([](const config::Options& o, const LrSchedule::Shape& s) {
          std::vector<std::int64_t> milestones;
          for (std::int64_t e = o.integer("step_size"); e < s.epochs; e += o.integer("step_size")) {
            milestones.push_back(e);
          }
          return std::make_unique<MultiStepSchedule>(s, MultiStepScheduleOptions()
                                                            .warmup(warmup_of(o, s))
                                                            .milestones(milestones)
                                                            .gamma(o.real("gamma")));
        })) &&
    config::register_component(
        "schedule", "multistep", "multiply by gamma at each milestone epoch", multistep_options(),
        factory([](const config::Options& o, const LrSchedule::Shape& s) {
          return std::make_unique<MultiStepSchedule>(s, MultiStepScheduleOptions()
                                                            .warmup(warmup_of(o, s))
                                                            .milestones(o.integers("milestones"))
                                                            .gamma(o.real("gamma")));
        })) &&
    config::register_component(
        "schedule", "fixmatch_cosine", "FixMatch's base_lr x cos(7 pi k / 16 K), per iteration",
        warmup_options(), factory([](const config::Options& o, const LrSchedule::Shape& s) {
          return std::make_unique<FixMatchCosineSchedule>(s, warmup_of(o, s));
        })) &&
    config::register_component("schedule", "constant", "the base rate throughout (after warmup)",
                               warmup_options(),
                               factory([](const config::Options& o, const LrSchedule::Shape& s) {
                                 return std::make_unique<ConstantSchedule>(s, warmup_of(o, s));
                               }));

}  // namespace
}  // namespace augcore::train

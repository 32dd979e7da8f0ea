#include "step_bench.h"

#include <chrono>
#include <stdexcept>

#include <fmt/core.h>

#include "augcore/core/error.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/train/state/optimizer_registry.h"
#include "augcore/train/state/schedule_registry.h"
#include "augcore/train/tasks/recipe.h"
#include "augcore/train/tasks/task_registry.h"
#include "rotation_order.h"

namespace augcore::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::string label_of(const config::Options& root) {
  std::string label;
  for (const auto& c : root.components("policies"))
    label += (label.empty() ? "" : "+") + c.name;
  const std::string objective = root.component("objective").name;
  if (objective != "standard") label += (label.empty() ? "" : "+") + objective;
  return label.empty() ? "no policy" : label;
}

}  // namespace

std::vector<data::Batch> preload_batches(const config::Options& root, std::int64_t count,
                                         data::Shard shard) {
  auto loader = data::make_loader(root.section("data"), data::Split::kTrain,
                                  static_cast<std::uint64_t>(root.integer("seed")), shard);
  std::vector<data::Batch> batches;
  loader->start_epoch(0);
  while (static_cast<std::int64_t>(batches.size()) < count) {
    auto b = loader->next();
    if (!b) break;
    batches.push_back(std::move(*b));
  }
  return batches;
}

StepBench::StepBench(const config::Config& config, const std::vector<data::Batch>& batches,
                     train::DataParallel* parallel)
    : config_(config), batches_(batches), device_(at::kCPU) {
  const config::Options root = config_.root();
  const config::Options train = root.section("train");
  device_ = select_device(root.string("device"));
  if (!parallel) {
    group_ = train::join_job(dist::LaunchInfo{}, root, device_);
    own_parallel_ = std::make_unique<train::DataParallel>(*group_, train::DataParallelOptions{});
    parallel = own_parallel_.get();
  }
  batch_size_ = batches_.front().images.size(0);
  train::TaskSetup setup;
  setup.device = device_;
  setup.seed = static_cast<std::uint64_t>(root.integer("seed"));
  setup.shard = {parallel->group().rank(), parallel->group().world_size()};
  setup.batch_size = batch_size_ * parallel->group().world_size();
  setup.epochs = 1;
  setup.channels_last = device_.is_cuda() && train.boolean("channels_last");
  setup.parallel = parallel;
  task_ = train::make_task(config_);
  task_->build(setup);
  const auto shape = task_->train_loader().sample_shape();
  const at::Tensor& first = batches_.front().images;
  if (first.size(1) != shape[0] || first.size(2) != shape[1] || first.size(3) != shape[2]) {
    throw ConfigError(fmt::format(
        "data: the benchmark's batches hold {}×{}×{} images, this recipe trains on {}×{}×{} "
        "(compared recipes need the same data)",
        first.size(1), first.size(2), first.size(3), shape[0], shape[1], shape[2]));
  }
  // As the loop starts every epoch (semi-supervised training positions its unlabelled stream).
  task_->start_epoch(0, 0);
  if (setup.channels_last) train::use_channels_last(task_->model());
  model_name_ = root.component("model").name;
  const double lr = train.real("lr");
  optimizer_ = train::make_optimizer(root.component("optimizer"), task_->model(), lr);
  schedule_ = train::make_schedule(root.component("schedule"),
                                   {lr, static_cast<std::int64_t>(batches_.size()), 1});
  const train::AmpMode amp = device_.is_cuda() ? train::amp_mode(train) : train::AmpMode::kNone;
  if (amp == train::AmpMode::kFp16) scaler_ = std::make_unique<train::LossScaler>();
  if (train.section("ema").boolean("enabled")) {
    ema_ = std::make_unique<train::ModelEma>(task_->make_shadow(), task_->model(),
                                             train.section("ema").real("decay"));
  }
  step_ = std::make_unique<train::TrainStep>(
      *task_, *optimizer_, *schedule_, *parallel, ema_.get(), scaler_.get(),
      train::TrainStepOptions{setup.seed, 1, amp, train.real("grad_clip")});
  label_ = label_of(root);
}

StepBench::~StepBench() = default;

std::int64_t StepBench::parameters() const {
  std::int64_t n = 0;
  for (const auto& p : task_->model().parameters())
    n += p.numel();
  return n;
}

double StepBench::run(std::int64_t steps) {
  task_->model().train();
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i) {
    const data::Batch& b = batches_[static_cast<std::size_t>(next_ % batches_.size())];
    step_->micro_step(b, 0, next_++, true);
    step_->optimizer_step();
  }
  compat::synchronize(device_);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Rotation::Rotation(const std::vector<Timed>& contestants, std::int64_t rounds, std::int64_t steps)
    : per_round_(contestants.size(), std::vector<double>{}) {
  const std::size_t n = contestants.size();
  for (std::int64_t r = 0; r < rounds; ++r) {
    for (const std::size_t i : rotation_order(n, static_cast<std::size_t>(r))) {
      if (!per_round_[i]) continue;
      if (const auto t = contestants[i](steps))
        per_round_[i]->push_back(*t / static_cast<double>(steps));
      else
        per_round_[i].reset();
    }
  }
}

Rotation::Timed Rotation::of(StepBench& bench) {
  return [&bench](std::int64_t steps) -> std::optional<double> { return bench.run(steps); };
}

std::optional<double> Rotation::seconds(std::size_t i) const {
  if (!per_round_.at(i) || per_round_[i]->empty()) return std::nullopt;
  return eval::median_interval(*per_round_[i]).median;
}

std::optional<eval::MedianInterval> Rotation::ratio(std::size_t a, std::size_t b) const {
  if (!per_round_.at(a) || !per_round_.at(b) || per_round_[a]->empty()) return std::nullopt;
  // Survivors ran every round: the rounds pair up one to one.
  if (per_round_[a]->size() != per_round_[b]->size())
    throw std::logic_error("rotation: unequal rounds");
  std::vector<double> ratios;
  for (std::size_t r = 0; r < per_round_[a]->size(); ++r)
    ratios.push_back((*per_round_[a])[r] / (*per_round_[b])[r]);
  return eval::median_interval(std::move(ratios));
}

}  // namespace augcore::bench

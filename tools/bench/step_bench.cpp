#include "step_bench.h"

#include <algorithm>
#include <chrono>

#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/model_registry.h"
#include "augcore/train/amp.h"
#include "augcore/train/optimizer.h"

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

StepBench::StepBench(const config::Config& config, const std::vector<data::Batch>& batches)
    : config_(config), batches_(batches), device_(at::kCPU) {
  const config::Options root = config_.root();
  const config::Options train = root.section("train");
  device_ = select_device(root.string("device"));
  const std::string amp = train.string("amp");
  if (device_.is_cuda()) {
    channels_last_ = train.boolean("channels_last");
    if (amp != "none") amp_ = amp == "fp16" ? at::kHalf : at::kBFloat16;
  }
  const at::Tensor& first = batches_.front().images;
  const std::int64_t channels = first.size(1), height = first.size(2), width = first.size(3);
  models::ModelShape shape{channels, 0, height};
  std::int64_t classes = 0;
  for (const auto& b : batches_)
    classes = std::max(classes, b.labels.max().item<std::int64_t>() + 1);
  shape.num_classes = std::max<std::int64_t>(classes, 2);
  model_name_ = root.component("model").name;
  model_ = models::make_model(root.component("model"), shape);
  model_->to(device_);
  if (channels_last_) {
    at::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  std::tie(mean_, std_) = data::normalisation(root.section("data"), channels, device_);
  optimizer_ = train::make_optimizer(root.component("optimizer"), *model_, train.real("lr"));
  objective_ = objective::make_objective(root.component("objective"),
                                         objective::make_criterion(root.section("loss")));
  objective_->check(*model_, height, width);
  augment::PolicySetup setup;
  setup.device = device_;
  setup.channels = channels;
  setup.height = height;
  setup.width = width;
  setup.num_classes = shape.num_classes;
  setup.mean = root.section("data").reals("mean");
  setup.std = root.section("data").reals("std");
  setup.label_smoothing = root.section("loss").real("label_smoothing");
  setup.model = model_.get();
  policies_ = augment::make_policies(root.components("policies"), setup);
  batch_size_ = first.size(0);
  label_ = label_of(root);
}

std::int64_t StepBench::parameters() const {
  std::int64_t n = 0;
  for (const auto& p : model_->parameters())
    n += p.numel();
  return n;
}

double StepBench::run(std::int64_t steps) {
  model_->train();
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < steps; ++i) {
    const data::Batch& b = batches_[static_cast<std::size_t>(next_ % batches_.size())];
    const std::int64_t step = next_++;
    at::manual_seed(static_cast<std::uint64_t>(step));
    augment::PolicyBatch pb{b.images.to(device_, true).to(at::kFloat).div_(255.0),
                            b.labels.to(device_, true), model_->num_classes()};
    augment::StepContext context{augment::step_generator(0, 0, step), 0, step, model_.get()};
    for (auto& policy : policies_)
      policy->apply(pb, context);
    at::Tensor x = (pb.images - mean_).div_(std_);
    if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    objective::ObjectiveContext objective_context{
        augment::step_generator(0, 0, step, data::Stream::kObjective),
        [](const at::Tensor& part) { part.backward(); }};
    if (parallel_) parallel_->begin_micro_step(true);
    objective::ObjectiveResult r;
    {
      train::AutocastGuard autocast(amp_ != at::kFloat, amp_);
      r = objective_->compute(*model_, x, pb.targets, objective_context);
    }
    r.loss.item<double>();
    objective_context.backward(r.backward_loss.defined() ? r.backward_loss : r.loss);
    const at::Tensor labels = pb.targets.dim() == 1 ? pb.targets : pb.targets.argmax(1);
    r.logits.argmax(1).eq(labels).sum().item<double>();
    if (parallel_) {
      const auto s0 = Clock::now();
      parallel_->finish_gradients();
      sync_seconds_ += std::chrono::duration<double>(Clock::now() - s0).count();
    }
    optimizer_->step();
    optimizer_->zero_grad();
  }
  compat::synchronize(device_);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<double> interleaved_step_times(std::vector<StepBench*> benches, std::int64_t rounds,
                                           std::int64_t steps, std::int64_t warmup) {
  for (auto* b : benches)
    b->run(warmup);
  std::vector<std::vector<double>> per_round(benches.size());
  for (std::int64_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < benches.size(); ++i)
      per_round[i].push_back(benches[i]->run(steps) / static_cast<double>(steps));
  }
  std::vector<double> medians;
  for (auto& v : per_round)
    medians.push_back(median(std::move(v)));
  return medians;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace augcore::bench

#include "augcore/train/loop/train_step.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>

#include "augcore/augment/policy.h"
#include "augcore/train/state/optimizer.h"

namespace augcore::train {

TrainStep::TrainStep(Task& task, torch::optim::Optimizer& optimizer, const LrSchedule& schedule,
                     DataParallel& parallel, ModelEma* ema, LossScaler* scaler,
                     const TrainStepOptions& options)
    : task_(task),
      optimizer_(optimizer),
      schedule_(schedule),
      parallel_(parallel),
      ema_(ema),
      scaler_(scaler),
      options_(options) {}

StepOutput TrainStep::micro_step(const data::Batch& b, std::int64_t epoch, std::int64_t step,
                                 bool last) {
  const int rank = parallel_.group().rank();
  const std::int64_t accum = options_.accum_steps;
  set_lr(optimizer_, schedule_.lr(step));
  StepContext context;
  context.epoch = epoch;
  context.batch = b.index;
  context.step = step;
  context.rank = rank;
  const std::uint64_t seed = options_.seed;
  context.generator = [seed, epoch, &b, rank](data::Stream stream) {
    return augment::step_generator(seed, epoch, b.index, stream, rank);
  };
  context.backward = [this, accum](const at::Tensor& part) {
    const at::Tensor l = accum > 1 ? part / static_cast<double>(accum) : part;
    (scaler_ ? scaler_->scale(l) : l).backward();
  };
  at::manual_seed(context.generator(data::Stream::kModel).current_seed());
  StepInputs in = task_.inputs(b, context);
  // Tasks may run backward passes inside compute (MaskSub's split backward).
  parallel_.begin_micro_step(last);
  StepOutput out;
  {
    AutocastGuard autocast(options_.amp != AmpMode::kNone,
                           options_.amp == AmpMode::kFp16 ? at::kHalf : at::kBFloat16);
    out = task_.compute(in, context);
  }
  context.backward(out.backward_loss.defined() ? out.backward_loss : out.loss);
  out.images = in.images.size(0);
  return out;
}

void TrainStep::optimizer_step() {
  torch::nn::Module& model = task_.model();
  if (parallel_.distributed()) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_.finish_gradients();
    sync_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const bool finite = !scaler_ || scaler_->unscale(model.parameters());
  if (options_.grad_clip > 0 && finite) {
    torch::nn::utils::clip_grad_norm_(model.parameters(), options_.grad_clip);
  }
  if (finite) optimizer_.step();
  if (scaler_) scaler_->update(finite);
  optimizer_.zero_grad();
  parallel_.after_step(model);
  if (ema_) ema_->update(model);
}

void use_channels_last(torch::nn::Module& model) {
  at::NoGradGuard no_grad;
  for (auto& p : model.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

}  // namespace augcore::train

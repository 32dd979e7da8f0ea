#include "augcore/train/trainer.h"

#include <ATen/ATen.h>
#include <fmt/core.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "augcore/augment/policy.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/state_dict.h"
#include "augcore/objective/objective.h"
#include "augcore/train/amp.h"
#include "augcore/train/ema.h"
#include "augcore/train/optimizer.h"
#include "augcore/train/run_log.h"
#include "augcore/train/schedule.h"

namespace augcore::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

at::Tensor to_pixels(const at::Tensor& uint8_images) {
  return uint8_images.to(at::kFloat).div_(255.0);
}

at::Tensor normalise(const at::Tensor& uint8_images, const at::Tensor& mean,
                     const at::Tensor& std) {
  return (to_pixels(uint8_images) - mean).div_(std);
}

EvalResult evaluate(models::ClassifierImpl& model, data::Loader& loader, const at::Tensor& mean,
                    const at::Tensor& std, at::Device device, bool channels_last) {
  model.eval();
  at::NoGradGuard no_grad;
  EvalResult r;
  double loss_sum = 0, top1 = 0, top5 = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    at::Tensor x = normalise(batch->images.to(device, true), mean, std);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor y = batch->labels.to(device, true);
    const at::Tensor logits = model.forward(x).to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
    const auto k = std::min<std::int64_t>(5, logits.size(1));
    const at::Tensor topk = std::get<1>(logits.topk(k, 1));
    const at::Tensor hits = topk.eq(y.unsqueeze(1));
    top1 += hits.select(1, 0).sum().item<double>();
    top5 += hits.any(1).sum().item<double>();
    r.images += x.size(0);
  }
  r.loss = loss_sum / r.images;
  r.top1 = 100.0 * top1 / r.images;
  r.top5 = 100.0 * top5 / r.images;
  return r;
}

void save_checkpoint(const std::string& path, models::ClassifierImpl& model,
                     torch::optim::Optimizer& optimizer, ModelEma* ema, std::int64_t epoch,
                     std::int64_t step, double best_top1, const config::Config& config) {
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(model));
  ckpt.insert("optimizer", optimizer_state(optimizer));
  auto scheduler = pth::new_dict();
  scheduler.insert("step", step);
  ckpt.insert("scheduler", scheduler);
  if (ema) ckpt.insert("ema", models::state_dict_ivalue(ema->model()));
  ckpt.insert("epoch", epoch);
  ckpt.insert("step", step);
  ckpt.insert("best_top1", best_top1);
  ckpt.insert("config", config.to_yaml());
  ckpt.insert("format", std::string("augcore-checkpoint-1"));
  pth::save(ckpt, path);
}

c10::IValue entry(const c10::impl::GenericDict& d, const std::string& key,
                  const std::string& path) {
  const auto it = d.find(key);
  if (it == d.end()) throw DataError(path + ": checkpoint has no '" + key + "' entry");
  return it->value();
}

}  // namespace

RunSummary run_training(const config::Config& config, const RunOptions& options) {
  const config::Options root = config.root();
  const config::Options data_cfg = root.section("data");
  const config::Options train_cfg = root.section("train");
  const at::Device device = select_device(root.string("device"));
  const bool cuda = device.is_cuda();
  const std::string amp = train_cfg.string("amp");
  if (amp != "none" && !cuda) {
    throw ConfigError("train.amp: '" + amp +
                      "' mixed precision needs a CUDA device; use none on CPU");
  }
  bool channels_last = train_cfg.boolean("channels_last");
  const std::uint64_t seed = static_cast<std::uint64_t>(root.integer("seed"));
  at::manual_seed(seed);
  configure_threads(root.integer("threads"));

  RunLog log((fs::path(options.run_dir) / "train.log").string());
  auto train_loader = data::make_loader(data_cfg, data::Split::kTrain, seed);
  std::unique_ptr<data::Loader> val_loader;
  if (!data_cfg.is_null("val")) val_loader = data::make_loader(data_cfg, data::Split::kVal, seed);
  const auto shape = train_loader->sample_shape();
  if (shape[1] != shape[2]) {
    log.line(fmt::format("note: training images are {}x{} (not square)", shape[1], shape[2]));
  }
  models::ModelShape model_shape{shape[0], train_loader->dataset().num_classes(), shape[1]};
  auto model = models::make_model(root.component("model"), model_shape);
  model->to(device);
  if (channels_last && !cuda) {
    log.line("note: train.channels_last only applies on CUDA; ignored on CPU");
    channels_last = false;
  }
  if (channels_last) {
    at::NoGradGuard no_grad;
    for (auto& p : model->parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  const auto [mean, std] = data::normalisation(data_cfg, shape[0], device);

  const std::int64_t accum = train_cfg.integer("accum_steps");
  const std::int64_t batch = data_cfg.section("loader").integer("batch_size");
  const std::int64_t batches = static_cast<std::int64_t>(train_loader->batches_per_epoch());
  if (batches == 0) {
    throw ConfigError("data.loader.batch_size: " + std::to_string(batch) + " is more than the " +
                      std::to_string(train_loader->samples_per_epoch()) +
                      " training samples, and drop_last leaves no batch");
  }
  if (batches < accum) {
    throw ConfigError("train.accum_steps: " + std::to_string(accum) + " exceeds the " +
                      std::to_string(batches) + " batches of an epoch");
  }
  const std::int64_t steps_per_epoch = batches / accum;
  const std::int64_t epochs = train_cfg.integer("epochs");
  double base_lr = train_cfg.real("lr");
  if (train_cfg.boolean("scale_lr")) base_lr *= static_cast<double>(batch * accum) / 256.0;
  auto optimizer = make_optimizer(root.component("optimizer"), *model, base_lr);
  auto schedule = make_schedule(root.component("schedule"), {base_lr, steps_per_epoch, epochs});
  auto objective = objective::make_objective(root.component("objective"),
                                             objective::make_criterion(root.section("loss")));

  std::unique_ptr<ModelEma> ema;
  if (train_cfg.section("ema").boolean("enabled")) {
    auto shadow = models::make_model(root.component("model"), model_shape);
    shadow->to(device);
    ema = std::make_unique<ModelEma>(shadow, *model, train_cfg.section("ema").real("decay"));
  }

  std::int64_t start_epoch = 0, step = 0;
  double best_top1 = -1;
  std::string resume = options.resume;
  if (resume == "auto") {
    const fs::path last = fs::path(options.run_dir) / "last.pt";
    resume = fs::exists(last) ? last.string() : "";
    if (resume.empty())
      log.line("resume auto: no checkpoint in " + options.run_dir + ", starting fresh");
  }
  if (!resume.empty()) {
    const c10::IValue payload = pth::load(resume);
    if (!payload.isGenericDict()) throw DataError(resume + ": not an augcore checkpoint");
    const auto ckpt = payload.toGenericDict();
    const auto report =
        models::load_state_dict(*model, models::find_state_dict(payload, resume), true);
    if (!report.ok()) throw DataError(resume + ": does not fit the model: " + report.describe());
    if (!options.eval_only) {
      load_optimizer_state(*optimizer, entry(ckpt, "optimizer", resume));
      start_epoch = entry(ckpt, "epoch", resume).toInt();
      step = entry(ckpt, "step", resume).toInt();
      best_top1 = entry(ckpt, "best_top1", resume).toDouble();
    }
    if (ema && ckpt.contains("ema")) {
      const auto r = models::load_state_dict(ema->model(), ckpt.at("ema").toGenericDict(), true);
      if (!r.ok()) throw DataError(resume + ": EMA weights do not fit: " + r.describe());
    }
    log.line(fmt::format("resumed from {} at epoch {}, step {}", resume, start_epoch, step));
  }

  std::int64_t params = 0;
  for (const auto& p : model->parameters())
    params += p.numel();
  log.line(fmt::format("model {} ({:.2f}M parameters) on {}, {} threads; data {}; {} steps/epoch",
                       root.component("model").name, params / 1e6, device.str(),
                       at::get_num_threads(), train_loader->dataset().description(),
                       steps_per_epoch));

  RunSummary summary;
  summary.best_top1 = best_top1;
  summary.epochs_done = start_epoch;
  if (options.eval_only) {
    if (!val_loader) throw ConfigError("data.val: --eval-only needs a validation dataset");
    summary.last = evaluate(*model, *val_loader, mean, std, device, channels_last);
    log.line(fmt::format("eval: loss {:.4f} top-1 {:.2f}% top-5 {:.2f}% ({} images)",
                         summary.last.loss, summary.last.top1, summary.last.top5,
                         summary.last.images));
    return summary;
  }

  std::ofstream metrics((fs::path(options.run_dir) / "metrics.jsonl").string(), std::ios::app);
  const std::string last_path = (fs::path(options.run_dir) / "last.pt").string();
  const std::string best_path = (fs::path(options.run_dir) / "best.pt").string();
  augment::PolicySetup setup;
  setup.device = device;
  setup.channels = shape[0];
  setup.height = shape[1];
  setup.width = shape[2];
  setup.num_classes = model_shape.num_classes;
  setup.mean = data_cfg.reals("mean");
  setup.std = data_cfg.reals("std");
  setup.label_smoothing = root.section("loss").real("label_smoothing");
  setup.model = model.get();
  auto policies = augment::make_policies(root.components("policies"), setup);
  objective->check(*model, shape[1], shape[2]);
  const double clip = train_cfg.real("grad_clip");
  std::unique_ptr<LossScaler> scaler;
  if (amp == "fp16") scaler = std::make_unique<LossScaler>();
  const std::int64_t log_every = train_cfg.integer("log_every");
  double total_images = 0, total_seconds = 0;

  for (std::int64_t epoch = start_epoch; epoch < epochs; ++epoch) {
    model->train();
    train_loader->start_epoch(epoch);
    const auto t0 = Clock::now();
    double loss_sum = 0, correct = 0, seen = 0;
    std::map<std::string, double> extra_sums;
    std::int64_t epoch_step = 0, micro = 0;
    optimizer->zero_grad();
    while (auto b = train_loader->next()) {
      if (epoch_step >= steps_per_epoch) break;
      set_lr(*optimizer, schedule->lr(step));
      augment::PolicyBatch pb{to_pixels(b->images.to(device, true)), b->labels.to(device, true),
                              model_shape.num_classes};
      if (!policies.empty()) {
        augment::StepContext context{augment::step_generator(seed, epoch, b->index), epoch, step,
                                     model.get()};
        for (auto& policy : policies)
          policy->apply(pb, context);
      }
      at::Tensor x = (pb.images - mean).div_(std);
      if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      const at::Tensor& y = pb.targets;
      objective::ObjectiveContext objective_context{
          augment::step_generator(seed, epoch, b->index, data::Stream::kObjective),
          [&](const at::Tensor& part) {
            const at::Tensor l = accum > 1 ? part / static_cast<double>(accum) : part;
            (scaler ? scaler->scale(l) : l).backward();
          }};
      objective::ObjectiveResult r;
      {
        AutocastGuard autocast(amp != "none", amp == "fp16" ? at::kHalf : at::kBFloat16);
        r = objective->compute(*model, x, y, objective_context);
      }
      const double loss_value = r.loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw TrainingError(fmt::format(
            "non-finite loss ({}) at step {} (epoch {}); stopping. The last good checkpoint is {}",
            loss_value, step, epoch + 1, fs::exists(last_path) ? last_path : "(none yet)"));
      }
      objective_context.backward(r.backward_loss.defined() ? r.backward_loss : r.loss);
      loss_sum += loss_value * x.size(0);
      for (const auto& [k, v] : r.metrics)
        extra_sums[k] += v * x.size(0);
      const at::Tensor labels = y.dim() == 1 ? y : y.argmax(1);
      correct += r.logits.argmax(1).eq(labels).sum().item<double>();
      seen += x.size(0);
      if (++micro < accum) continue;
      micro = 0;
      const bool finite = !scaler || scaler->unscale(model->parameters());
      if (clip > 0 && finite) torch::nn::utils::clip_grad_norm_(model->parameters(), clip);
      if (finite) optimizer->step();
      if (scaler) scaler->update(finite);
      optimizer->zero_grad();
      if (ema) ema->update(*model);
      ++step;
      ++epoch_step;
      const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
      const double eta = elapsed / epoch_step * (steps_per_epoch - epoch_step);
      log.progress(
          fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.4g} {:.0f} img/s ETA {:.0f}s",
                      epoch + 1, epochs, epoch_step, steps_per_epoch, loss_sum / seen,
                      schedule->lr(step - 1), seen / elapsed, eta),
          epoch_step, log_every);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    total_images += seen;
    total_seconds += seconds;
    std::string line =
        fmt::format("{{\"epoch\": {}, \"lr\": {}, \"train_loss\": {}, \"train_top1\": {}",
                    epoch + 1, json_number(schedule->lr(step - 1)), json_number(loss_sum / seen),
                    json_number(100.0 * correct / seen));
    for (const auto& [k, v] : extra_sums)
      line += fmt::format(", \"{}\": {}", k, json_number(v / seen));
    std::string summary_line =
        fmt::format("epoch {}/{}: train loss {:.4f} top-1 {:.2f}%", epoch + 1, epochs,
                    loss_sum / seen, 100.0 * correct / seen);
    if (val_loader) {
      summary.last = evaluate(*model, *val_loader, mean, std, device, channels_last);
      line += fmt::format(", \"val_loss\": {}, \"val_top1\": {}, \"val_top5\": {}",
                          json_number(summary.last.loss), json_number(summary.last.top1),
                          json_number(summary.last.top5));
      summary_line += fmt::format(" | val loss {:.4f} top-1 {:.2f}% top-5 {:.2f}%",
                                  summary.last.loss, summary.last.top1, summary.last.top5);
      if (ema && train_cfg.boolean("eval_ema")) {
        summary.last_ema = evaluate(ema->model(), *val_loader, mean, std, device, channels_last);
        line += fmt::format(", \"ema_val_top1\": {}", json_number(summary.last_ema->top1));
        summary_line += fmt::format(" | EMA top-1 {:.2f}%", summary.last_ema->top1);
      }
    }
    line += fmt::format(", \"images_per_s\": {}, \"epoch_seconds\": {}}}",
                        json_number(seen / seconds), json_number(seconds));
    metrics << line << "\n";
    metrics.flush();
    log.line(summary_line + fmt::format(" | {:.0f} img/s, {:.1f}s", seen / seconds, seconds));
    const bool improved = val_loader && summary.last.top1 > best_top1;
    if (improved) best_top1 = summary.last.top1;
    save_checkpoint(last_path, *model, *optimizer, ema.get(), epoch + 1, step, best_top1, config);
    if (improved) fs::copy_file(last_path, best_path, fs::copy_options::overwrite_existing);
    summary.epochs_done = epoch + 1;
  }
  summary.steps = step;
  summary.best_top1 = best_top1;
  summary.images_per_s = total_seconds > 0 ? total_images / total_seconds : 0;
  std::string json = fmt::format(
      "{{\n  \"epochs\": {},\n  \"steps\": {},\n  \"val_top1\": {},\n  \"val_top5\": {},\n"
      "  \"best_val_top1\": {},\n  \"train_images_per_s\": {}",
      summary.epochs_done, summary.steps, json_number(summary.last.top1),
      json_number(summary.last.top5), json_number(summary.best_top1),
      json_number(summary.images_per_s));
  if (summary.last_ema)
    json += fmt::format(",\n  \"ema_val_top1\": {}", json_number(summary.last_ema->top1));
  json += "\n}\n";
  write_file_atomic((fs::path(options.run_dir) / "summary.json").string(), json);
  return summary;
}

}  // namespace augcore::train

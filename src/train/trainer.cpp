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
#include "augcore/train/checkpoint.h"
#include "augcore/train/device_totals.h"
#include "augcore/train/ema.h"
#include "augcore/train/optimizer.h"
#include "augcore/train/run_dir.h"
#include "augcore/train/run_log.h"
#include "augcore/train/schedule.h"
#include "augcore/train/stop_signal.h"

namespace augcore::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Sums = std::map<std::string, double>;

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
  DeviceTotals totals({}, device);
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    at::Tensor x = normalise(batch->images.to(device, true), mean, std);
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor y = batch->labels.to(device, true);
    const at::Tensor logits = model.forward(x).to(at::kFloat);
    totals.add("loss", at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum), 1.0);
    const auto k = std::min<std::int64_t>(5, logits.size(1));
    const at::Tensor topk = std::get<1>(logits.topk(k, 1));
    const at::Tensor hits = topk.eq(y.unsqueeze(1));
    totals.add("top1", hits.select(1, 0).sum(), 1.0);
    totals.add("top5", hits.any(1).sum(), 1.0);
    r.images += x.size(0);
  }
  auto sums = totals.read();
  r.loss = sums["loss"] / r.images;
  r.top1 = 100.0 * sums["top1"] / r.images;
  r.top5 = 100.0 * sums["top5"] / r.images;
  return r;
}

// Everything a resumed run needs to continue exactly where this one stands.
struct TrainState {
  models::ClassifierImpl* model;
  torch::optim::Optimizer* optimizer;
  ModelEma* ema;
  LossScaler* scaler;
  const std::vector<std::unique_ptr<augment::BatchPolicy>>* policies;
  const config::Config* config;
  std::uint64_t seed;
};

void save_checkpoint(const std::string& path, const TrainState& s, const Progress& progress) {
  auto ckpt = pth::new_dict();
  ckpt.insert("model", models::state_dict_ivalue(*s.model));
  ckpt.insert("optimizer", optimizer_state(*s.optimizer));
  auto scheduler = pth::new_dict();
  scheduler.insert("step", progress.step);
  ckpt.insert("scheduler", scheduler);
  if (s.ema) ckpt.insert("ema", models::state_dict_ivalue(s.ema->model()));
  if (s.scaler) {
    auto scaler = pth::new_dict();
    scaler.insert("scale", s.scaler->value());
    scaler.insert("clean_steps", s.scaler->clean_steps());
    ckpt.insert("scaler", scaler);
  }
  put_progress(ckpt, progress);
  auto rng = pth::new_dict();
  rng.insert("seed", static_cast<std::int64_t>(s.seed));
  rng.insert("scheme", std::string("every stream derives from (seed, stream, epoch, batch)"));
  ckpt.insert("rng", rng);
  c10::impl::GenericList augmentors(c10::StringType::get());
  for (const auto& p : *s.policies)
    augmentors.push_back(p->identity());
  ckpt.insert("policy_inputs", augmentors);
  ckpt.insert("config", s.config->to_yaml());
  ckpt.insert("format", std::string("augcore-checkpoint-2"));
  pth::save(ckpt, path);
}

// The fingerprint part of a policy identity ("path fingerprint").
std::string fingerprint_of(const std::string& identity) {
  const auto space = identity.rfind(' ');
  return space == std::string::npos ? identity : identity.substr(space + 1);
}

// Restores what save_checkpoint wrote; throws DataError/ConfigError when the checkpoint does
// not belong to this recipe.
Progress restore_checkpoint(const std::string& path, const c10::impl::GenericDict& ckpt,
                            const TrainState& s) {
  if (ckpt.contains("config")) check_resumable(string_entry(ckpt, "config", path), *s.config, path);
  if (ckpt.contains("policy_inputs")) {
    const c10::IValue inputs = entry(ckpt, "policy_inputs", path);
    if (!inputs.isList() || inputs.toListRef().size() != s.policies->size()) {
      throw DataError(path + ": checkpoint entry 'policy_inputs' does not match the policies");
    }
    for (std::size_t i = 0; i < s.policies->size(); ++i) {
      const c10::IValue& saved = inputs.toListRef()[i];
      const std::string now = (*s.policies)[i]->identity();
      if (!saved.isString()) throw DataError(path + ": damaged 'policy_inputs' entry");
      if (fingerprint_of(saved.toStringRef()) != fingerprint_of(now)) {
        throw ConfigError("policies[" + std::to_string(i) + "].checkpoint: " + now +
                          " differs from the augmentor the run was trained with (" +
                          saved.toStringRef() + " in " + path + ")");
      }
    }
  }
  try {
    load_optimizer_state(*s.optimizer, entry(ckpt, "optimizer", path));
  } catch (const DataError& e) {
    throw DataError(path + ": " + e.what());
  }
  if (s.ema && ckpt.contains("ema")) {
    const auto r = models::load_state_dict(s.ema->model(), dict_entry(ckpt, "ema", path), true);
    if (!r.ok()) throw DataError(path + ": EMA weights do not fit: " + r.describe());
  }
  if (s.scaler && ckpt.contains("scaler")) {
    const auto d = dict_entry(ckpt, "scaler", path);
    s.scaler->restore(real_entry(d, "scale", path), int_entry(d, "clean_steps", path));
  }
  return read_progress(ckpt, path);
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
  if (train_cfg.boolean("deterministic")) use_deterministic_algorithms();
  const std::uint64_t seed = static_cast<std::uint64_t>(root.integer("seed"));
  at::manual_seed(seed);
  configure_threads(root.integer("threads"), root.boolean("flush_denormal"));
  // Resuming this directory's own run continues its logs; anything else starts them anew.
  const bool resume_here = resumes_run_in(options.resume, options.run_dir);

  std::string free_space;
  if (!options.eval_only) {
    free_space = check_run_dir(options.run_dir, resume_here, options.overwrite);
  }

  std::vector<std::string> notes;
  auto train_loader = data::make_loader(data_cfg, data::Split::kTrain, seed);
  std::unique_ptr<data::Loader> val_loader;
  if (!data_cfg.is_null("val")) val_loader = data::make_loader(data_cfg, data::Split::kVal, seed);
  const auto shape = train_loader->sample_shape();
  if (shape[1] != shape[2]) {
    notes.push_back(
        fmt::format("note: training images are {}x{} (not square)", shape[1], shape[2]));
  }
  models::ModelShape model_shape{shape[0], train_loader->dataset().num_classes(), shape[1]};
  auto model = models::make_model(root.component("model"), model_shape);
  model->to(device);
  if (channels_last && !cuda) {
    notes.push_back("note: train.channels_last only applies on CUDA; ignored on CPU");
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
  std::unique_ptr<LossScaler> scaler;
  if (amp == "fp16") scaler = std::make_unique<LossScaler>();
  const TrainState state{model.get(), optimizer.get(), ema.get(), scaler.get(),
                         &policies,   &config,         seed};

  Progress progress;
  std::string resume = options.resume;
  if (resume == "auto") {
    std::vector<std::string> skipped;
    resume = newest_checkpoint(options.run_dir, skipped);
    for (const auto& s : skipped)
      notes.push_back("note: skipped an unreadable checkpoint: " + s);
    notes.push_back(resume.empty()
                        ? "resume auto: no checkpoint in " + options.run_dir + ", starting fresh"
                        : "resume auto: newest checkpoint is " + resume);
  }
  if (!resume.empty()) {
    try {
      const auto ckpt = load_checkpoint(resume);
      const auto report =
          models::load_state_dict(*model, models::find_state_dict(c10::IValue(ckpt), resume), true);
      if (!report.ok()) throw DataError(resume + ": does not fit the model: " + report.describe());
      if (!options.eval_only) {
        progress = restore_checkpoint(resume, ckpt, state);
        if (progress.batch > steps_per_epoch * accum) {
          throw DataError(resume + ": checkpoint is at batch " + std::to_string(progress.batch) +
                          " of an epoch that has " + std::to_string(batches));
        }
      }
    } catch (const c10::Error& e) {
      throw DataError(resume + ": damaged checkpoint (" + e.what_without_backtrace() + ")");
    }
  }

  RunSummary summary;
  summary.best_top1 = progress.best_top1;
  summary.epochs_done = progress.epoch;
  if (options.eval_only) {
    if (!val_loader) throw ConfigError("data.val: --eval-only needs a validation dataset");
    summary.last = evaluate(*model, *val_loader, mean, std, device, channels_last);
    fmt::print("eval: loss {:.4f} top-1 {:.2f}% top-5 {:.2f}% ({} images)\n", summary.last.loss,
               summary.last.top1, summary.last.top5, summary.last.images);
    return summary;
  }

  // Every input is valid: from here on the run directory is written.
  const fs::path dir(options.run_dir);
  const auto start_lines = open_run_dir(options.run_dir,
                                        RunStart{options.overwrite, resume, resume_here,
                                                 progress.epoch, progress.batch, progress.step},
                                        config.to_yaml());
  RunLog log((dir / "train.log").string());
  for (const auto& n : notes)
    log.line(n);
  for (const auto& n : start_lines)
    log.line(n);
  std::int64_t params = 0;
  for (const auto& p : model->parameters())
    params += p.numel();
  log.line(fmt::format(
      "model {} ({:.2f}M parameters) on {}, {} threads; data {}; {} steps/epoch; {} ({})",
      root.component("model").name, params / 1e6, device.str(), at::get_num_threads(),
      train_loader->dataset().description(), steps_per_epoch, options.run_dir, free_space));

  std::ofstream metrics((dir / "metrics.jsonl").string(), std::ios::app);
  std::ofstream steps_log;
  if (train_cfg.boolean("step_log")) steps_log.open((dir / "steps.jsonl").string(), std::ios::app);
  const std::string last_path = (dir / "last.pt").string();
  const std::string best_path = (dir / "best.pt").string();
  const double clip = train_cfg.real("grad_clip");
  const std::int64_t log_every = train_cfg.integer("log_every");
  const std::int64_t checkpoint_every = train_cfg.integer("checkpoint_every_steps");
  double total_images = 0, total_seconds = 0;
  StopSignal stop;
  std::int64_t step = progress.step;
  double best_top1 = progress.best_top1;

  for (std::int64_t epoch = progress.epoch; epoch < epochs; ++epoch) {
    model->train();
    const bool continuing = epoch == progress.epoch && progress.batch > 0;
    const std::int64_t first_batch = continuing ? progress.batch : 0;
    train_loader->start_epoch(epoch, first_batch);
    const auto t0 = Clock::now();
    // Loss, accuracy and metrics stay on the device until a log line or checkpoint needs them,
    // so that a CUDA step never waits for the host; a non-finite loss is caught at that read.
    DeviceTotals totals(continuing ? progress.sums : Sums{}, device, step);
    Sums sums;
    const auto read_totals = [&] { sums = totals.read_checked(step, epoch, last_path); };
    double seen_here = 0;
    std::unique_ptr<DeviceTotals> step_loss;
    std::int64_t epoch_step = first_batch / accum, micro = 0;
    optimizer->zero_grad();
    while (epoch_step < steps_per_epoch) {
      auto b = train_loader->next();
      if (!b) break;
      set_lr(*optimizer, schedule->lr(step));
      at::manual_seed(data::Rng::derive({seed, static_cast<std::uint64_t>(data::Stream::kModel),
                                         static_cast<std::uint64_t>(epoch),
                                         static_cast<std::uint64_t>(b->index)})
                          .next());
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
      objective_context.backward(r.backward_loss.defined() ? r.backward_loss : r.loss);
      const auto n = static_cast<double>(x.size(0));
      totals.add("loss", r.loss, n);
      if (steps_log.is_open()) {
        if (!step_loss) step_loss = std::make_unique<DeviceTotals>(Sums{}, device);
        step_loss->add("loss", r.loss, 1.0 / static_cast<double>(accum));
      }
      for (const auto& [k, v] : r.metrics)
        totals.add("metric:" + k, v, n);
      const at::Tensor labels = y.dim() == 1 ? y : y.argmax(1);
      totals.add("correct", r.logits.argmax(1).eq(labels).sum(), 1.0);
      totals.add("seen", n);
      seen_here += n;
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
      if (steps_log.is_open()) {
        steps_log << fmt::format(
            "{{\"step\": {}, \"epoch\": {}, \"loss\": {:.17g}, \"lr\": {:.17g}}}\n", step,
            epoch + 1, step_loss->read()["loss"], schedule->lr(step - 1));
        steps_log.flush();
        step_loss.reset();
      }
      log.progress(epoch_step, log_every, [&] {
        read_totals();
        const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        const double eta =
            elapsed / (epoch_step - first_batch / accum) * (steps_per_epoch - epoch_step);
        return fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.4g} {:.0f} img/s ETA {:.0f}s",
                           epoch + 1, epochs, epoch_step, steps_per_epoch,
                           sums["loss"] / sums["seen"], schedule->lr(step - 1), seen_here / elapsed,
                           eta);
      });
      end_of_step(
          stop,
          checkpoint_every > 0 && step % checkpoint_every == 0 && epoch_step < steps_per_epoch,
          [&] {
            read_totals();
            save_checkpoint(last_path, state,
                            Progress{epoch, epoch_step * accum, step, best_top1, sums});
          },
          fmt::format("epoch {} step {}/{} (global step {})", epoch + 1, epoch_step,
                      steps_per_epoch, step),
          last_path, [&](const std::string& m) { log.line(m); });
    }
    read_totals();
    const double loss_sum = sums["loss"], correct = sums["correct"], seen = sums["seen"];
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    total_images += seen_here;
    total_seconds += seconds;
    std::string line =
        fmt::format("{{\"epoch\": {}, \"lr\": {}, \"train_loss\": {}, \"train_top1\": {}",
                    epoch + 1, json_number(schedule->lr(step - 1)), json_number(loss_sum / seen),
                    json_number(100.0 * correct / seen));
    for (const auto& [k, v] : sums) {
      if (k.rfind("metric:", 0) == 0)
        line += fmt::format(", \"{}\": {}", k.substr(7), json_number(v / seen));
    }
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
    line += fmt::format(", \"images_per_s\": {}, \"epoch_seconds\": {}, \"rss_mb\": {}}}",
                        json_number(seen_here / seconds), json_number(seconds),
                        json_number(resident_mb()));
    metrics << line << "\n";
    metrics.flush();
    log.line(summary_line + fmt::format(" | {:.0f} img/s, {:.1f}s", seen_here / seconds, seconds));
    const bool improved = val_loader && summary.last.top1 > best_top1;
    if (improved) best_top1 = summary.last.top1;
    save_checkpoint(last_path, state, Progress{epoch + 1, 0, step, best_top1, {}});
    if (improved) copy_file_atomic(last_path, best_path);
    summary.epochs_done = epoch + 1;
    if (const int signal = stop.requested()) {
      const Interrupted stopped =
          interruption(signal, fmt::format("the end of epoch {}", epoch + 1), last_path);
      log.line(stopped.what());
      throw stopped;
    }
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
  write_file_atomic((dir / "summary.json").string(), json);
  return summary;
}

}  // namespace augcore::train

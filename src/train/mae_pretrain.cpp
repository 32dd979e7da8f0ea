#include "augcore/train/mae_pretrain.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/core.h>
#include <torch/nn/utils/clip_grad.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "augcore/augment/policy.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/dist/launch.h"
#include "augcore/models/mae.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/checkpoint.h"
#include "augcore/train/data_parallel.h"
#include "augcore/train/device_totals.h"
#include "augcore/train/metrics_log.h"
#include "augcore/train/optimizer.h"
#include "augcore/train/run_dir.h"
#include "augcore/train/run_log.h"
#include "augcore/train/schedule.h"
#include "augcore/train/stop_signal.h"

namespace augcore::train {
namespace fs = std::filesystem;

config::Schema mae_recipe_schema() {
  config::Schema mae;
  mae.add_choice("preset", "mae_tiny_patch4_28",
                 {"mae_mini", "mae_base", "mae_large", "mae_tiny_patch4_28", "mae_tiny_patch4_32"},
                 "augmentor architecture");
  mae.add_int("in_chans", 0, "input channels; 0 = the data's").range(0, 64);
  mae.add_bool("norm_pix_loss", false,
               "regress per-patch normalised pixels (MRA needs pixel space: keep false)");

  config::Schema train;
  train.add_int("epochs", 10, "passes over the training set").range(1, 1000000);
  train.add_float("lr", 1.5e-4, "base learning rate (scaled by batch/256)").range(0, 100);
  train.add_bool("scale_lr", true, "use lr x batch_size / 256");
  train.add_float("grad_clip", 0.0, "clip the global gradient norm; 0 = off").range(0, 1e9);
  train.add_int("log_every", 50, "steps between progress lines when not on a terminal")
      .range(1, 1 << 30);
  train.add_bool("tensorboard", true, "mirror metrics.jsonl into TensorBoard event files");
  train.add_int("recon_images", 8, "validation images in each recon_epochNNN.png").range(1, 64);
  train
      .add_int("checkpoint_every_steps", 0,
               "also write last.pt every N steps (0: at epoch ends only)")
      .range(0, 1 << 30);

  config::Schema data = data::data_schema();
  data.at("train_transforms").default_value = config::parse_yaml_value(
      "[{name: random_resized_crop, size: 28, scale: [0.2, 1.0], interpolation: bicubic}, hflip]",
      {});

  config::Schema s;
  s.add_int("seed", 0, "seed of every random stream").range(0, 9.0e15);
  s.add_int("threads", 0, "intra-op CPU threads; 0 = one per core").range(0, 1024);
  s.add_bool("flush_denormal", true,
             "flush subnormal floats to zero on CPU (much faster attention)");
  s.add_string("device", "auto", "auto | cpu | cuda | cuda:N");
  s.add_string("output", "", "run directory; empty = runs/<config file name>");
  s.add_section("data", data, "datasets, transforms and loader");
  s.add_section("mae", mae, "the masked autoencoder");
  s.add_float("mask_ratio", 0.4, "fraction of patches removed (MRA's best for MAE-Mini)")
      .range(0.01, 0.99);
  s.add_component("optimizer", "optimizer", "adamw", "the optimizer").default_value =
      config::parse_yaml_value("{name: adamw, betas: [0.9, 0.95], weight_decay: 0.05}", {});
  s.add_component("schedule", "schedule", "cosine", "the learning-rate schedule").default_value =
      config::parse_yaml_value("{name: cosine, warmup_epochs: 1}", {});
  s.add_section("train", train, "training loop");
  s.add_section("dist", dist_schema(), "data-parallel pretraining over several processes");
  return s;
}

namespace {

// original | masked input (grey where removed) | reconstruction with visible patches, per row.
void write_recon_png(models::MaskedAutoencoderImpl& mae, const at::Tensor& x, double ratio,
                     const at::Tensor& mean, const at::Tensor& std, const std::string& path) {
  at::NoGradGuard no_grad;
  mae.eval();
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto patches = mae.grid(h, w);
  const auto p = mae.config().patch_size;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);  // the same masks every epoch
  const at::Tensor noise = at::rand({n, patches}, gen).to(x.device());
  auto [encoded, m] = mae.forward_encoder(x, noise, models::pretrain_keep_count(patches, ratio));
  at::Tensor pred = mae.forward_decoder(encoded, m.ids_restore, h, w);
  if (mae.config().norm_pix_loss) pred = mae.denormalise_prediction(x, pred, m.mask);
  const at::Tensor mask =
      mae.unpatchify(m.mask.unsqueeze(-1).expand({n, patches, p * p * c}), h, w);
  const at::Tensor original = (x * std + mean).clamp(0, 1);
  const at::Tensor masked = original * (1 - mask) + 0.5 * mask;
  const at::Tensor recon =
      (original * (1 - mask) + (mae.unpatchify(pred, h, w) * std + mean) * mask).clamp(0, 1);
  const at::Tensor rows = at::cat({original, masked, recon}, 3);  // N×C×H×3W
  const at::Tensor grid = rows.permute({1, 0, 2, 3}).reshape({c, n * h, 3 * w});
  const at::Tensor hwc =
      grid.permute({1, 2, 0}).mul(255).round().to(at::kByte).to(at::kCPU).contiguous();
  cv::Mat image(static_cast<int>(n * h), static_cast<int>(3 * w), CV_8UC(static_cast<int>(c)),
                hwc.data_ptr<std::uint8_t>());
  cv::Mat out;
  if (c == 3) {
    cv::cvtColor(image, out, cv::COLOR_RGB2BGR);
  } else {
    out = image;
  }
  if (!cv::imwrite(path, out)) throw DataError("cannot write '" + path + "'");
  mae.train();
}

}  // namespace

MaeSummary run_mae_pretraining(const config::Config& config, const RunOptions& options) {
  const config::Options root = config.root();
  const config::Options data_cfg = root.section("data");
  const config::Options train_cfg = root.section("train");
  at::Device device = select_device(root.string("device"));
  const dist::LaunchInfo launch = dist::detect_launch();
  const auto group = join_job(launch, root, device);
  DataParallel parallel(*group, data_parallel_options(root.section("dist")));
  const std::uint64_t seed = static_cast<std::uint64_t>(root.integer("seed"));
  at::manual_seed(seed);
  const std::int64_t threads = root.integer("threads");
  configure_threads(threads == 0 && launch.local_world_size > 1
                        ? std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                                          launch.local_world_size)
                        : threads,
                    root.boolean("flush_denormal"));
  const bool resume_here = resumes_run_in(options.resume, options.run_dir);
  const std::string free_space = check_run_dir(options.run_dir, resume_here, options.overwrite);

  const data::Shard shard{group->rank(), group->world_size()};
  auto loader = data::make_loader(data_cfg, data::Split::kTrain, seed, shard);
  const auto shape = loader->sample_shape();
  models::MaeConfig mc = models::mae_preset(root.section("mae").string("preset"));
  mc.in_chans = root.section("mae").integer("in_chans") > 0
                    ? root.section("mae").integer("in_chans")
                    : shape[0];
  mc.norm_pix_loss = root.section("mae").boolean("norm_pix_loss");
  if (mc.in_chans != shape[0]) {
    throw ConfigError("mae.in_chans: " + std::to_string(mc.in_chans) + " but the images have " +
                      std::to_string(shape[0]) + " channels");
  }
  models::MaskedAutoencoder mae(mc);
  const auto patches = mae->grid(shape[1], shape[2]);  // ConfigError when p does not divide
  mae->to(device);
  const auto [mean, std] = data::normalisation(data_cfg, shape[0], device);
  const double ratio = root.real("mask_ratio");
  const auto keep = models::pretrain_keep_count(patches, ratio);
  if (keep < 1)
    throw ConfigError("mask_ratio: leaves no visible patch of " + std::to_string(patches));

  // Fixed images for the reconstruction figures: the first of the validation (or training) set.
  at::Tensor figure;
  {
    auto source = data_cfg.is_null("val") ? data::make_loader(data_cfg, data::Split::kTrain, seed)
                                          : data::make_loader(data_cfg, data::Split::kVal, seed);
    source->start_epoch(0);
    const auto first = source->next();
    const auto k = std::min<std::int64_t>(train_cfg.integer("recon_images"), first->images.size(0));
    figure = ((first->images.slice(0, 0, k).to(device).to(at::kFloat) / 255.0) - mean) / std;
  }

  const std::int64_t batch = data_cfg.section("loader").integer("batch_size");
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>(loader->batches_per_epoch());
  const std::int64_t epochs = train_cfg.integer("epochs");
  double base_lr = train_cfg.real("lr");
  if (train_cfg.boolean("scale_lr")) base_lr *= static_cast<double>(batch) / 256.0;
  auto optimizer = make_optimizer(root.component("optimizer"), *mae, base_lr);
  auto schedule = make_schedule(root.component("schedule"), {base_lr, steps_per_epoch, epochs});

  const std::string preset = root.section("mae").string("preset");
  const fs::path dir(options.run_dir);
  const std::string last_path = (dir / "last.pt").string();
  auto save = [&](const Progress& progress) {
    auto ckpt = pth::new_dict();
    ckpt.insert("model", models::state_dict_ivalue(*mae));
    ckpt.insert("optimizer", optimizer_state(*optimizer));
    put_progress(ckpt, progress);
    ckpt.insert("preset", preset);
    ckpt.insert("norm_pix_loss", mc.norm_pix_loss);
    c10::impl::GenericList mean_list(c10::AnyType::get()), std_list(c10::AnyType::get());
    for (double v : data_cfg.reals("mean"))
      mean_list.push_back(v);
    for (double v : data_cfg.reals("std"))
      std_list.push_back(v);
    ckpt.insert("mean", mean_list);
    ckpt.insert("std", std_list);
    ckpt.insert("config", config.to_yaml());
    ckpt.insert("format", std::string("augcore-mae-2"));
    if (parallel.writer()) pth::save(ckpt, last_path);
    parallel.barrier("barrier(checkpoint written)");
  };

  Progress progress;
  std::string resume = options.resume;
  std::vector<std::string> skipped;
  if (resume == "auto") resume = newest_checkpoint(options.run_dir, skipped);
  if (!resume.empty()) {
    try {
      const auto d = load_checkpoint(resume);
      if (!d.contains("optimizer") || !d.contains("epoch") || !d.contains("step")) {
        throw DataError(resume + ": not an mae_pretrain checkpoint (no optimizer/epoch/step)");
      }
      if (d.contains("config"))
        check_resumable(string_entry(d, "config", resume), config, resume, mae_recipe_schema());
      const auto report =
          models::load_state_dict(*mae, models::find_state_dict(c10::IValue(d), resume), true);
      if (!report.ok()) throw DataError(resume + ": does not fit the MAE: " + report.describe());
      try {
        load_optimizer_state(*optimizer, d.at("optimizer"));
      } catch (const DataError& e) {
        throw DataError(resume + ": " + e.what());
      }
      progress = read_progress(d, resume);
      if (progress.batch > steps_per_epoch) {
        throw DataError(resume + ": checkpoint is at batch " + std::to_string(progress.batch) +
                        " of an epoch that has " + std::to_string(steps_per_epoch));
      }
    } catch (const c10::Error& e) {
      throw DataError(resume + ": damaged checkpoint (" + e.what_without_backtrace() + ")");
    }
  }

  parallel.start(*mae);
  // Every input is valid: from here on the run directory is written (by rank 0).
  std::vector<std::string> start_lines;
  if (parallel.writer()) {
    start_lines = open_run_dir(options.run_dir,
                               RunStart{options.overwrite, resume, resume_here, progress.epoch,
                                        progress.batch, progress.step},
                               config.to_yaml());
  }
  parallel.barrier("barrier(run directory opened)");
  RunLog log((dir / "train.log").string(), !parallel.writer());
  for (const auto& note : skipped)
    log.line("note: skipped an unreadable checkpoint: " + note);
  for (const auto& line : start_lines)
    log.line(line);
  std::int64_t params = 0;
  for (const auto& p : mae->parameters())
    params += p.requires_grad() ? p.numel() : 0;
  log.line(fmt::format(
      "mae {} ({:.2f}M trainable parameters, {} patches, keep {}) on {}; data {}; {} ({})", preset,
      params / 1e6, patches, keep, device.str(), loader->dataset().description(), options.run_dir,
      free_space));

  if (group->distributed()) {
    log.line(fmt::format(
        "data parallel: {} processes via {} ({} backend), {} images per process "
        "per batch",
        group->world_size(), launch.launcher, group->backend(), batch / group->world_size()));
  }
  MetricsLog metrics(options.run_dir,
                     MetricsLogOptions{parallel.writer(), false, train_cfg.boolean("tensorboard"),
                                       resume_here && !resume.empty()});
  const auto global = [&](const std::map<std::string, double>& local) {
    return parallel.sum(local, "all_reduce(training totals)");
  };
  const double clip = train_cfg.real("grad_clip");
  const std::int64_t checkpoint_every = train_cfg.integer("checkpoint_every_steps");
  MaeSummary summary;
  summary.epochs_done = progress.epoch;
  double total_images = 0, total_seconds = 0;
  std::int64_t step = progress.step;
  StopSignal stop;
  for (std::int64_t epoch = progress.epoch; epoch < epochs; ++epoch) {
    mae->train();
    const bool continuing = epoch == progress.epoch && progress.batch > 0;
    std::int64_t epoch_step = continuing ? progress.batch : 0;
    loader->start_epoch(epoch, epoch_step);
    const auto t0 = std::chrono::steady_clock::now();
    // The loss stays on the device until printed or saved (see DeviceTotals).
    DeviceTotals totals(
        continuing ? parallel.share(progress.sums) : std::map<std::string, double>{}, device, step);
    std::map<std::string, double> sums;
    double seen_here = 0;
    while (auto b = loader->next()) {
      set_lr(*optimizer, schedule->lr(step));
      const at::Tensor x = ((b->images.to(device, true).to(at::kFloat) / 255.0) - mean) / std;
      // The masks of the whole global batch, drawn alike on every rank; this rank takes the
      // rows of its samples, so the masks do not depend on the number of processes.
      const std::int64_t begin = b->index * batch;
      const std::int64_t end = std::min<std::int64_t>(
          begin + batch, static_cast<std::int64_t>(loader->samples_per_epoch()));
      auto gen = augment::step_generator(seed, epoch, b->index);
      std::vector<std::int64_t> rows;
      for (const std::int64_t p : data::shard_positions(begin, end, shard, true))
        rows.push_back(p - begin);
      const at::Tensor noise =
          at::rand({end - begin, patches}, gen).index_select(0, at::tensor(rows)).to(device);
      parallel.begin_micro_step(true);
      auto [encoded, m] = mae->forward_encoder(x, noise, keep);
      const at::Tensor pred = mae->forward_decoder(encoded, m.ids_restore, x.size(2), x.size(3));
      const at::Tensor loss = mae->loss(x, pred, m.mask);
      optimizer->zero_grad();
      loss.backward();
      parallel.finish_gradients();
      if (clip > 0) torch::nn::utils::clip_grad_norm_(mae->parameters(), clip);
      optimizer->step();
      ++step;
      ++epoch_step;
      group->set_step(step);
      totals.add("loss", loss, static_cast<double>(x.size(0)));
      totals.add("seen", static_cast<double>(x.size(0)));
      seen_here += x.size(0);
      const bool due = epoch_step % train_cfg.integer("log_every") == 0;
      if (due) sums = totals.read_checked(step, epoch, last_path, global);
      log.progress(epoch_step, train_cfg.integer("log_every"), [&] {
        if (!due && !group->distributed()) sums = totals.read_checked(step, epoch, last_path);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.4g} {:.0f} img/s", epoch + 1,
                           epochs, epoch_step, steps_per_epoch, sums["loss"] / sums["seen"],
                           schedule->lr(step - 1), seen_here * group->world_size() / elapsed);
      });
      end_of_step(
          parallel.agreed_signal(stop.requested()),
          checkpoint_every > 0 && step % checkpoint_every == 0 && epoch_step < steps_per_epoch,
          [&] {
            sums = totals.read_checked(step, epoch, last_path, global);
            save(Progress{epoch, epoch_step, step, -1, sums});
          },
          fmt::format("epoch {} step {}/{} (global step {})", epoch + 1, epoch_step,
                      steps_per_epoch, step),
          last_path, [&](const std::string& m) { log.line(m); });
    }
    sums = totals.read_checked(step, epoch, last_path, global);
    seen_here *= group->world_size();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    total_images += seen_here;
    total_seconds += seconds;
    summary.last_loss = sums["loss"] / sums["seen"];
    metrics.epoch(epoch + 1, {{"lr", schedule->lr(step - 1)},
                              {"train_loss", summary.last_loss},
                              {"images_per_s", seen_here / seconds},
                              {"epoch_seconds", seconds},
                              {"rss_mb", resident_mb()}});
    const std::string png = (dir / fmt::format("recon_epoch{:03d}.png", epoch + 1)).string();
    if (parallel.writer()) write_recon_png(*mae, figure, ratio, mean, std, png);
    log.line(fmt::format("epoch {}/{}: loss {:.4f} | {:.0f} img/s, {:.1f}s | {}", epoch + 1, epochs,
                         summary.last_loss, seen_here / seconds, seconds, png));
    save(Progress{epoch + 1, 0, step, -1, {}});
    summary.epochs_done = epoch + 1;
    if (const int signal = parallel.agreed_signal(stop.requested())) {
      const Interrupted stopped =
          interruption(signal, fmt::format("the end of epoch {}", epoch + 1), last_path);
      log.line(stopped.what());
      throw stopped;
    }
  }
  summary.steps = step;
  summary.images_per_s = total_seconds > 0 ? total_images / total_seconds : 0;
  return summary;
}

}  // namespace augcore::train

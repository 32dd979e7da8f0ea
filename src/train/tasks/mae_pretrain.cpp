#include "augcore/train/tasks/mae_pretrain.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "augcore/augment/policy.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/data/pipeline.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/tasks/recipe.h"

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
  add_step_keys(train);
  train.add_int("log_every", 50, "steps between progress lines when not on a terminal")
      .range(1, 1 << 30);
  train.add_int("recon_images", 8, "validation images in each recon_epochNNN.png").range(1, 64);
  add_output_keys(train);

  config::Schema data = data::data_schema();
  data.at("train_transforms").default_value = config::parse_yaml_value(
      "[{name: random_resized_crop, size: 28, scale: [0.2, 1.0], interpolation: bicubic}, hflip]",
      {});

  config::Schema s;
  add_run_keys(s);
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

MaePretrainTask::MaePretrainTask(const config::Config& config)
    : root_(config.root()), data_cfg_(root_.section("data")) {}

config::Schema MaePretrainTask::schema() const {
  return mae_recipe_schema();
}

void MaePretrainTask::build(const TaskSetup& setup) {
  setup_ = setup;
  loader_ = data::make_loader(data_cfg_, data::Split::kTrain, setup.seed, setup.shard);
  const auto shape = loader_->sample_shape();
  const config::Options mae = root_.section("mae");
  preset_ = mae.string("preset");
  config_ = models::mae_preset(preset_);
  config_.in_chans = mae.integer("in_chans") > 0 ? mae.integer("in_chans") : shape[0];
  config_.norm_pix_loss = mae.boolean("norm_pix_loss");
  if (config_.in_chans != shape[0]) {
    throw ConfigError("mae.in_chans: " + std::to_string(config_.in_chans) +
                      " but the images have " + std::to_string(shape[0]) + " channels");
  }
  mae_ = models::MaskedAutoencoder(config_);
  patches_ = mae_->grid(shape[1], shape[2]);  // ConfigError when p does not divide
  mae_->to(setup.device);
  std::tie(mean_, std_) = data::normalisation(data_cfg_, shape[0], setup.device);
  ratio_ = root_.real("mask_ratio");
  keep_ = models::pretrain_keep_count(patches_, ratio_);
  if (keep_ < 1)
    throw ConfigError("mask_ratio: leaves no visible patch of " + std::to_string(patches_));
  // Fixed images for the reconstruction figures: the first of the validation (or training) set.
  auto source = data_cfg_.is_null("val")
                    ? data::make_loader(data_cfg_, data::Split::kTrain, setup.seed)
                    : data::make_loader(data_cfg_, data::Split::kVal, setup.seed);
  source->start_epoch(0);
  const auto first = source->next();
  const auto k =
      std::min<std::int64_t>(root_.section("train").integer("recon_images"), first->images.size(0));
  figure_ = ((first->images.slice(0, 0, k).to(setup.device).to(at::kFloat) / 255.0) - mean_) / std_;
}

std::shared_ptr<torch::nn::Module> MaePretrainTask::make_shadow() {
  models::MaskedAutoencoder shadow(config_);
  shadow->to(setup_.device);
  return shadow.ptr();
}

std::string MaePretrainTask::describe() const {
  std::int64_t params = 0;
  for (const auto& p : mae_->parameters())
    params += p.requires_grad() ? p.numel() : 0;
  return fmt::format("mae {} ({:.2f}M trainable parameters, {} patches, keep {})", preset_,
                     params / 1e6, patches_, keep_);
}

StepInputs MaePretrainTask::inputs(const data::Batch& b, StepContext& context) {
  const at::Tensor x = ((b.images.to(setup_.device, true).to(at::kFloat) / 255.0) - mean_) / std_;
  // The masks of the whole global batch, drawn alike on every rank; this rank takes the rows of
  // its samples, so the masks do not depend on the number of processes.
  const std::int64_t begin = b.index * setup_.batch_size;
  const std::int64_t end = std::min<std::int64_t>(
      begin + setup_.batch_size, static_cast<std::int64_t>(loader_->samples_per_epoch()));
  auto gen = augment::step_generator(setup_.seed, context.epoch, b.index);
  std::vector<std::int64_t> rows;
  for (const std::int64_t p : data::shard_positions(begin, end, setup_.shard, true))
    rows.push_back(p - begin);
  const at::Tensor noise =
      at::rand({end - begin, patches_}, gen).index_select(0, at::tensor(rows)).to(setup_.device);
  return {x, noise};
}

StepOutput MaePretrainTask::compute(StepInputs& in, StepContext&) {
  auto [encoded, m] = mae_->forward_encoder(in.images, in.targets, keep_);
  const at::Tensor pred =
      mae_->forward_decoder(encoded, m.ids_restore, in.images.size(2), in.images.size(3));
  StepOutput out;
  out.loss = mae_->loss(in.images, pred, m.mask);
  return out;
}

void MaePretrainTask::end_epoch(EpochReport& report) {
  const std::string png =
      (fs::path(setup_.run_dir) / fmt::format("recon_epoch{:03d}.png", report.epoch + 1)).string();
  if (setup_.parallel->writer()) write_recon_png(*mae_, figure_, ratio_, mean_, std_, png);
  report.trailer = " | " + png;
}

Record MaePretrainTask::summary_figures(const RunSummary& summary) const {
  return {{"train_loss", summary.train_loss}};
}

void MaePretrainTask::save_tail(c10::impl::GenericDict& ckpt) const {
  ckpt.insert("preset", preset_);
  ckpt.insert("norm_pix_loss", config_.norm_pix_loss);
  c10::impl::GenericList mean_list(c10::AnyType::get()), std_list(c10::AnyType::get());
  for (double v : data_cfg_.reals("mean"))
    mean_list.push_back(v);
  for (double v : data_cfg_.reals("std"))
    std_list.push_back(v);
  ckpt.insert("mean", mean_list);
  ckpt.insert("std", std_list);
}

void MaePretrainTask::check_checkpoint(const c10::impl::GenericDict& ckpt,
                                       const std::string& path) const {
  if (!ckpt.contains("optimizer") || !ckpt.contains("epoch") || !ckpt.contains("step")) {
    throw DataError(path + ": not an mae_pretrain checkpoint (no optimizer/epoch/step)");
  }
}

MaeSummary run_mae_pretraining(const config::Config& config, const RunOptions& options) {
  MaePretrainTask task(config);
  const RunSummary run = run_task(task, config, options);
  return {run.epochs_done, run.steps, run.train_loss, run.images_per_s};
}

}  // namespace augcore::train

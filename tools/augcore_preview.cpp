// augcore_preview: a PNG grid showing what a recipe's batch policies do to a few images.
#include <ATen/ATen.h>
#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

#include "augcore/augment/mra.h"
#include "augcore/augment/policy.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/recipe.h"
#include "common/cli.h"

namespace {

using namespace augcore;

// N×C×H×W pixels in [0,1] → N×3×H×W.
at::Tensor rgb(const at::Tensor& x) {
  return x.size(1) == 3 ? x : x.expand({-1, 3, -1, -1});
}

// Per-patch values (N×L) as an N×3×H×W "inferno" heat map, scaled per image.
at::Tensor heat_map(const at::Tensor& values, std::int64_t h, std::int64_t w, std::int64_t p) {
  const auto n = values.size(0);
  at::Tensor v = values.reshape({n, 1, h / p, w / p});
  const at::Tensor lo = v.flatten(1).amin(1).reshape({n, 1, 1, 1});
  const at::Tensor hi = v.flatten(1).amax(1).reshape({n, 1, 1, 1});
  v = ((v - lo) / (hi - lo + 1e-12)).mul(255).round().to(at::kByte);
  v = at::upsample_nearest2d(v.to(at::kFloat), {h, w}).to(at::kByte).squeeze(1).contiguous();
  std::vector<at::Tensor> out;
  for (std::int64_t i = 0; i < n; ++i) {
    cv::Mat grey(static_cast<int>(h), static_cast<int>(w), CV_8UC1, v[i].data_ptr<std::uint8_t>());
    cv::Mat colour, rgb_image;
    cv::applyColorMap(grey, colour, cv::COLORMAP_INFERNO);
    cv::cvtColor(colour, rgb_image, cv::COLOR_BGR2RGB);
    out.push_back(at::from_blob(rgb_image.data, {h, w, 3}, at::kByte).permute({2, 0, 1}).clone());
  }
  return at::stack(out).to(at::kFloat).div(255.0);
}

// The recipe's classifier (KeepAugment's saliency needs one), with trained weights if given.
std::shared_ptr<models::ClassifierImpl> classifier(const config::Options& root,
                                                   const data::Loader& loader,
                                                   const std::string& weights) {
  const auto shape = loader.sample_shape();
  auto model = models::make_model(root.component("model"),
                                  {shape[0], loader.dataset().num_classes(), shape[1]});
  if (!weights.empty()) {
    const auto report =
        models::load_state_dict(*model, models::find_state_dict(pth::load(weights), weights), true);
    if (!report.ok()) throw DataError(weights + ": does not fit the model: " + report.describe());
  }
  model->eval();
  return model;
}

int preview(const cli::RecipeArgs& args, std::int64_t count, std::int64_t scale,
            const std::string& out_path, const std::string& weights) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  const config::Config cfg = cli::load_recipe(args, schema);
  const config::Options root = cfg.root();
  configure_threads(root.integer("threads"), root.boolean("flush_denormal"));
  const config::Options data = root.section("data");
  auto loader =
      data::make_loader(data, data.is_null("val") ? data::Split::kTrain : data::Split::kVal,
                        static_cast<std::uint64_t>(root.integer("seed")));
  loader->start_epoch(0);
  auto batch = loader->next();
  const auto n = std::min<std::int64_t>(count, batch->images.size(0));
  const at::Tensor images = batch->images.slice(0, 0, n).to(at::kFloat).div(255.0);
  const auto h = images.size(2), w = images.size(3);
  augment::PolicySetup setup;
  setup.channels = images.size(1);
  setup.height = h;
  setup.width = w;
  setup.num_classes = loader->dataset().num_classes();
  setup.mean = data.reals("mean");
  setup.std = data.reals("std");
  const auto model = classifier(root, *loader, weights);
  setup.model = model.get();
  auto policies = augment::make_policies(root.components("policies"), setup);
  const auto names = root.components("policies");
  const at::Tensor labels = batch->labels.slice(0, 0, n);
  std::set<std::string> shown_saliency;  // one saliency column per method
  std::vector<at::Tensor> columns{rgb(images)};
  std::vector<std::string> titles{"original"};
  for (std::size_t i = 0; i < policies.size(); ++i) {
    if (auto* adapted =
            dynamic_cast<augment::LibraryPolicy<augment::MraAugmentor>*>(policies[i].get())) {
      auto& mra = adapted->policy();
      const auto p = mra->patch_size();
      const at::Tensor noise = at::rand({n, (h / p) * (w / p)});
      const auto [attention, mask] = mra->attention_and_mask(images, noise);
      columns.push_back(heat_map(attention, h, w, p));
      titles.push_back("attention");
      const at::Tensor mask_img =
          at::upsample_nearest2d(mask.reshape({n, 1, h / p, w / p}), {h, w});
      columns.push_back(rgb(images) * (1 - mask_img) * 1.0 +
                        mask_img * at::tensor({0.2f, 0.4f, 0.9f}).reshape({1, 3, 1, 1}));
      titles.push_back("masked (blue)");
      columns.push_back(rgb(mra->augment(images, noise)));
      titles.push_back(names[i].name);
      continue;
    }
    if (names[i].name.rfind("keep_", 0) == 0 &&
        shown_saliency.insert(names[i].options().string("saliency")).second) {
      const at::Tensor map = augment::classifier_saliency(
          names[i].options().string("saliency"), setup, names[i].options().path())(images, labels);
      columns.push_back(heat_map(map.flatten(1), h, w, 1));
      titles.push_back("saliency");
    }
    augment::PolicyBatch pb{images.clone(), labels, setup.num_classes};
    augment::StepContext ctx{augment::step_generator(0, 0, 0), 0, 0, model.get()};
    policies[i]->apply(pb, ctx);
    columns.push_back(rgb(pb.images));
    titles.push_back(names[i].name);
  }
  // Rows of images, columns of views, each cell enlarged `scale` times.
  const at::Tensor grid = at::stack(columns, 1)          // N×V×3×H×W
                              .permute({0, 3, 1, 4, 2})  // N×H×V×W×3
                              .reshape({n * h, static_cast<std::int64_t>(columns.size()) * w, 3})
                              .clamp(0, 1)
                              .mul(255)
                              .round()
                              .to(at::kByte)
                              .contiguous();
  cv::Mat image(static_cast<int>(grid.size(0)), static_cast<int>(grid.size(1)), CV_8UC3,
                grid.data_ptr<std::uint8_t>());
  cv::Mat bgr, big;
  cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
  cv::resize(bgr, big, cv::Size(), static_cast<double>(scale), static_cast<double>(scale),
             cv::INTER_NEAREST);
  if (!cv::imwrite(out_path, big)) throw DataError("cannot write '" + out_path + "'");
  std::string legend;
  for (const auto& t : titles)
    legend += (legend.empty() ? "" : " | ") + t;
  fmt::print("wrote {} ({} images; columns: {})\n", out_path, n, legend);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"augcore_preview: what a recipe's batch policies do, as a PNG grid"};
  cli::RecipeArgs args;
  std::int64_t count = 8, scale = 4;
  std::string out = "preview.png", weights;
  cli::add_recipe_options(app, args);
  app.add_option("--weights", weights,
                 "classifier checkpoint (mra_train's last.pt) for KeepAugment's saliency");
  app.add_option("--images,-n", count, "images (rows)")->check(CLI::Range(1, 256));
  app.add_option("--scale", scale, "enlarge each pixel this many times")->check(CLI::Range(1, 16));
  app.add_option("--png", out, "output file");
  return cli::run_main(app, argc, argv, [&] { return preview(args, count, scale, out, weights); });
}

// augcore_preview: a PNG grid showing what a recipe's batch policies do to a few images, or
// (--strength) a table of how strongly each changes them.
#include <ATen/ATen.h>
#include <fmt/core.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

#include "augcore/augment/mra.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/augment/strength.h"
#include "augcore/core/error.h"
#include "augcore/core/malloc.h"
#include "augcore/core/pth.h"
#include "augcore/core/runtime.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/tasks/recipe.h"
#include "common/cli.h"
#include "common/doc_section.h"

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

// A recipe's data, classifier and batch policies, built as mra_train builds them.
struct RecipePolicies {
  config::Config cfg;
  std::unique_ptr<data::Loader> loader;
  augment::PolicySetup setup;
  std::shared_ptr<models::ClassifierImpl> model;
  std::vector<std::unique_ptr<augment::BatchPolicy>> policies;
  std::vector<config::ComponentConfig> components;
  std::uint64_t seed = 0;
};

// `std::nullopt` from handle_info_flags: --list/--help-component printed.
std::unique_ptr<RecipePolicies> load_recipe_policies(const cli::RecipeArgs& args,
                                                     const std::string& weights) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return nullptr;
  auto r = std::make_unique<RecipePolicies>();
  r->cfg = cli::load_recipe(args, schema);
  const config::Options root = r->cfg.root();
  configure_threads(root.integer("threads"), root.boolean("flush_denormal"));
  configure_malloc(root.boolean("retain_freed_memory"));
  const config::Options data = root.section("data");
  r->seed = static_cast<std::uint64_t>(root.integer("seed"));
  r->loader = data::make_loader(data, data.is_null("val") ? data::Split::kTrain : data::Split::kVal,
                                r->seed);
  r->loader->start_epoch(0);
  const auto shape = r->loader->sample_shape();
  const std::int64_t classes = r->loader->dataset().num_classes();
  // KeepAugment's saliency needs the classifier, with trained weights if given.
  r->model = weights.empty()
                 ? train::recipe_classifier(root, shape, classes)
                 : train::recipe_classifier(root, shape, classes, pth::load(weights), weights);
  r->model->eval();
  r->setup = train::recipe_policy_setup(root, shape, classes, at::kCPU, r->model.get());
  r->components = root.components("policies");
  r->policies = augment::make_policies(r->components, r->setup);
  return r;
}

// The policy's `label`, else its component name.
std::string label_of(const config::ComponentConfig& c) {
  const std::string label = c.options().string("label");
  return label.empty() ? c.name : label;
}

augment::MraAugmentor* mra_of(augment::BatchPolicy& policy) {
  auto* adapted = dynamic_cast<augment::LibraryPolicy<augment::MraAugmentor>*>(&policy);
  return adapted ? &adapted->policy() : nullptr;
}

int preview(const cli::RecipeArgs& args, std::int64_t count, std::int64_t scale,
            const std::string& out_path, const std::string& weights) {
  const auto recipe = load_recipe_policies(args, weights);
  if (!recipe) return 0;
  auto& setup = recipe->setup;
  auto& policies = recipe->policies;
  const auto& names = recipe->components;
  const auto& model = recipe->model;
  auto batch = recipe->loader->next();
  const auto n = std::min<std::int64_t>(count, batch->images.size(0));
  const at::Tensor images = batch->images.slice(0, 0, n).to(at::kFloat).div(255.0);
  const auto h = images.size(2), w = images.size(3);
  const at::Tensor labels = batch->labels.slice(0, 0, n);
  std::set<std::string> shown_saliency;  // one saliency column per method
  std::vector<at::Tensor> columns{rgb(images)};
  std::vector<std::string> titles{"original"};
  for (std::size_t i = 0; i < policies.size(); ++i) {
    if (auto* found = mra_of(*policies[i])) {
      auto& mra = *found;
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
      titles.push_back(label_of(names[i]));
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
    titles.push_back(label_of(names[i]));
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

// How strongly each of the recipe's policies changes `count` images of its evaluation split
// (each policy alone, on the clean images, with its own `p`), as a Markdown table.
int strength(const cli::RecipeArgs& args, std::int64_t count, const std::string& weights,
             double threshold, const std::string& doc, const std::string& section) {
  const auto recipe = load_recipe_policies(args, weights);
  if (!recipe) return 0;
  auto& r = *recipe;
  if (r.policies.empty()) throw ConfigError(args.config + ": policies: the recipe has none");
  std::vector<augment::StrengthMeter> meters(
      r.policies.size(),
      augment::StrengthMeter(augment::StrengthOptions().threshold(threshold).fill(r.setup.mean)));
  std::int64_t seen = 0;
  for (std::int64_t step = 0; seen < count; ++step) {
    auto batch = r.loader->next();
    if (!batch) break;
    const auto take = std::min<std::int64_t>(count - seen, batch->images.size(0));
    const at::Tensor images = batch->images.slice(0, 0, take).to(at::kFloat).div(255.0);
    const at::Tensor labels = batch->labels.slice(0, 0, take);
    for (std::size_t i = 0; i < r.policies.size(); ++i) {
      at::Generator gen = augment::step_generator(r.seed, static_cast<std::int64_t>(i), step);
      if (auto* mra = mra_of(*r.policies[i])) {
        const augment::MraDraw draw = (*mra)->sample(images, gen);
        meters[i].add(images, (*mra)->apply(images, draw));
        if (draw.rows.numel() > 0) {
          const at::Tensor chosen = images.index_select(0, draw.rows);
          meters[i].add_mask(chosen, (*mra)->attention_and_mask(chosen, draw.noise).second,
                             (*mra)->patch_size());
        }
        continue;
      }
      augment::PolicyBatch pb{images.clone(), labels, r.setup.num_classes};
      augment::StepContext ctx{gen, 0, step, r.model.get()};
      r.policies[i]->apply(pb, ctx);
      meters[i].add(images, pb.images);
    }
    seen += take;
  }
  const auto pct = [](double v) {
    return v < 0 ? std::string("—") : fmt::format("{:.1f}", 100 * v);
  };
  std::string md = fmt::format(
      "| policy | images changed % | pixels changed % | mean abs. change | object altered % | "
      "ink removed % | filled px/image | object share of masked / kept patches % | "
      "object in masked patches % |\n|---|---|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < meters.size(); ++i) {
    const augment::Strength s = meters[i].result();
    md += fmt::format(
        "| {} | {} | {} | {:.4f} | {} | {} | {:.1f} | {} | {} |\n", label_of(r.components[i]),
        pct(s.images_changed), pct(s.pixels_changed), s.mean_abs_delta, pct(s.object_altered),
        pct(s.ink_removed), s.filled_per_image,
        s.masked_patch_object < 0 ? std::string("—")
                                  : pct(s.masked_patch_object) + " / " + pct(s.kept_patch_object),
        pct(s.object_masked));
  }
  md += fmt::format(
      "\n{} images of {}; a pixel is changed when some channel moves by more than {:g} (pixels "
      "in [0, 1]); the object is the pixels above 0 (Fashion-MNIST's background is exactly 0); "
      "ink removed is Σ max(original − augmented, 0) over the object / Σ original; filled pixels "
      "become exactly the dataset mean (a cut's area inside the image).\n",
      seen, r.loader->dataset().description(), threshold);
  fmt::print("{}", md);
  if (!doc.empty()) {
    cli::replace_doc_section(doc, "strength:" + section, md);
    fmt::print("wrote the table into {} (section strength:{})\n", doc, section);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"augcore_preview: what a recipe's batch policies do, as a PNG grid"};
  cli::RecipeArgs args;
  std::int64_t count = 8, scale = 4;
  std::string out = "preview.png", weights, doc, section;
  bool measure = false;
  double threshold = 0.1;
  cli::add_recipe_options(app, args);
  app.add_flag("--strength", measure,
               "print how strongly each policy changes the images (-n of them) instead of a PNG");
  app.add_option("--threshold", threshold, "--strength: a pixel is changed above this |change|")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--update-doc", doc, "--strength: write the table into this Markdown file");
  app.add_option("--section", section, "--strength: the doc section's name (strength:NAME)");
  app.add_option("--weights", weights,
                 "classifier checkpoint (mra_train's last.pt) for KeepAugment's saliency");
  app.add_option("--images,-n", count, "images (rows of the PNG; up to 256) or images measured")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--scale", scale, "enlarge each pixel this many times")->check(CLI::Range(1, 16));
  app.add_option("--png", out, "output file");
  return cli::run_main(app, argc, argv, [&] {
    if (measure) {
      if (!doc.empty() && section.empty()) {
        throw UsageError("usage error",
                         "--update-doc needs --section (the table's name in the document)");
      }
      return strength(args, count, weights, threshold, doc, section);
    }
    if (count > 256) throw UsageError("usage error", "--images: at most 256 rows in a PNG");
    return preview(args, count, scale, out, weights);
  });
}

// augcore_bench: throughput benchmarks of augcore's components.
#include <fmt/core.h>

#include <chrono>

#include <ATen/ATen.h>

#include "augcore/augment/policy.h"
#include "augcore/core/runtime.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/classifier.h"
#include "augcore/objective/objective.h"
#include "augcore/train/optimizer.h"
#include "augcore/train/recipe.h"
#include "common/cli.h"

namespace {

using namespace augcore;

int bench_loader(const cli::RecipeArgs& args, int workers, std::int64_t max_batches) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  cli::RecipeArgs with_workers = args;
  if (workers >= 0) with_workers.sets.push_back("data.loader.workers=" + std::to_string(workers));
  const config::Config cfg = cli::load_recipe(with_workers, schema);
  const config::Options root = cfg.root();
  configure_threads(root.integer("threads"));
  auto loader = data::make_loader(root.section("data"), data::Split::kTrain,
                                  static_cast<std::uint64_t>(root.integer("seed")));
  const auto loader_cfg = root.section("data").section("loader");
  loader->start_epoch(0);
  // The first batch pays for thread start-up and cold caches; time the rest.
  auto first = loader->next();
  const auto start = std::chrono::steady_clock::now();
  std::int64_t images = 0, batches = 0;
  while (max_batches == 0 || batches < max_batches) {
    auto batch = loader->next();
    if (!batch) break;
    images += batch->images.size(0);
    ++batches;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "loader: {} | workers {} | batch {} | {} batches, {} images in {:.3f} s = {:.0f} "
      "images/s\n",
      loader->dataset().description(), loader_cfg.integer("workers"),
      loader_cfg.integer("batch_size"), batches, images, seconds, images / seconds);
  return 0;
}

// Seconds per training step of `steps` batches (after 3 warm-up steps), with or without the
// recipe's batch policies, on the same model, optimizer and batches.
double time_steps(const config::Options& root, data::Loader& loader, models::ClassifierImpl& model,
                  std::vector<std::unique_ptr<augment::BatchPolicy>>& policies,
                  std::int64_t steps) {
  const auto [mean, std] =
      data::normalisation(root.section("data"), loader.sample_shape()[0], at::kCPU);
  auto optimizer = train::make_optimizer(root.component("optimizer"), model, 0.01);
  auto objective = objective::make_objective(root.component("objective"),
                                             objective::make_criterion(root.section("loss")));
  model.train();
  loader.start_epoch(0);
  double seconds = 0;
  for (std::int64_t i = 0; i < steps + 3; ++i) {
    auto b = loader.next();
    if (!b) {
      loader.start_epoch(i);
      b = loader.next();
    }
    const auto t0 = std::chrono::steady_clock::now();
    augment::PolicyBatch pb{b->images.to(at::kFloat).div(255.0), b->labels, model.num_classes()};
    augment::StepContext ctx{augment::step_generator(0, 0, i), 0, i, &model};
    for (auto& p : policies)
      p->apply(pb, ctx);
    optimizer->zero_grad();
    objective::ObjectiveContext octx{augment::step_generator(0, 0, i, data::Stream::kObjective),
                                     [](const at::Tensor& part) { part.backward(); }};
    auto r = objective->compute(model, (pb.images - mean) / std, pb.targets, octx);
    (r.backward_loss.defined() ? r.backward_loss : r.loss).backward();
    optimizer->step();
    if (i >= 3)
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return seconds / steps;
}

augment::PolicySetup policy_setup(const config::Options& root, const data::Loader& loader,
                                  models::ClassifierImpl* model) {
  const auto shape = loader.sample_shape();
  augment::PolicySetup setup;
  setup.channels = shape[0];
  setup.height = shape[1];
  setup.width = shape[2];
  setup.num_classes = loader.dataset().num_classes();
  setup.mean = root.section("data").reals("mean");
  setup.std = root.section("data").reals("std");
  setup.label_smoothing = root.section("loss").real("label_smoothing");
  setup.model = model;
  return setup;
}

std::string policy_names(const config::Options& root) {
  std::string names;
  for (const auto& c : root.components("policies"))
    names += (names.empty() ? "" : "+") + c.name;
  return names.empty() ? "no policy" : names;
}

// What a recipe's step benchmark runs: its training loader, model and batch policies.
struct BenchSetup {
  int threads = 0;
  std::unique_ptr<data::Loader> loader;
  std::shared_ptr<models::ClassifierImpl> model;
  std::vector<std::unique_ptr<augment::BatchPolicy>> policies;
};

BenchSetup prepare(const config::Options& root) {
  BenchSetup b;
  b.threads = configure_threads(root.integer("threads"));
  b.loader = data::make_loader(root.section("data"), data::Split::kTrain,
                               static_cast<std::uint64_t>(root.integer("seed")));
  const auto shape = b.loader->sample_shape();
  b.model = models::make_model(root.component("model"),
                               {shape[0], b.loader->dataset().num_classes(), shape[1]});
  b.policies = augment::make_policies(root.components("policies"),
                                      policy_setup(root, *b.loader, b.model.get()));
  return b;
}

// Step time of several recipes (each with its own model and policies) on the same batches,
// relative to the first.
int bench_compare(const std::vector<std::string>& configs, const std::vector<std::string>& sets,
                  std::int64_t steps) {
  double first = 0;
  for (const auto& path : configs) {
    const config::Config cfg = config::Config::load(path, sets, train::recipe_schema());
    const config::Options root = cfg.root();
    BenchSetup b = prepare(root);
    const double t = time_steps(root, *b.loader, *b.model, b.policies, steps);
    if (first == 0) first = t;
    const auto batch = root.section("data").section("loader").integer("batch_size");
    fmt::print(
        "compare: {} | {} | model {} | batch {} | {} threads | {:.1f} ms ({:.0f} img/s) | "
        "ratio {:.2f}x\n",
        path, policy_names(root), root.component("model").name, batch, b.threads, t * 1e3,
        batch / t, t / first);
  }
  return 0;
}

int bench_step(const cli::RecipeArgs& args, std::int64_t steps) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  const config::Config cfg = cli::load_recipe(args, schema);
  const config::Options root = cfg.root();
  BenchSetup b = prepare(root);
  std::vector<std::unique_ptr<augment::BatchPolicy>> none;
  const double base = time_steps(root, *b.loader, *b.model, none, steps);
  const double with = time_steps(root, *b.loader, *b.model, b.policies, steps);
  const auto batch = root.section("data").section("loader").integer("batch_size");
  const std::string names = policy_names(root);
  fmt::print(
      "step: model {} | batch {} | {} threads | baseline {:.1f} ms ({:.0f} img/s) | with {} "
      "{:.1f} ms ({:.0f} img/s) | ratio {:.2f}x\n",
      root.component("model").name, batch, b.threads, base * 1e3, batch / base, names, with * 1e3,
      batch / with, with / base);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"augcore_bench: throughput benchmarks"};
  app.require_subcommand(1);
  cli::RecipeArgs args;
  int workers = -1;
  std::int64_t batches = 0;
  CLI::App* loader = app.add_subcommand("loader", "images/s of a recipe's training loader");
  cli::add_recipe_options(*loader, args);
  loader->add_option("--workers", workers, "loader threads (overrides data.loader.workers)")
      ->check(CLI::Range(0, 256));
  loader->add_option("--batches", batches, "batches to time after the first (0 = the epoch)")
      ->check(CLI::Range(0, 1000000));
  cli::RecipeArgs step_args;
  std::int64_t steps = 20;
  CLI::App* step = app.add_subcommand(
      "step", "training-step time of a recipe's model with and without its batch policies");
  cli::add_recipe_options(*step, step_args);
  step->add_option("--steps", steps, "timed steps per variant")->check(CLI::Range(1, 100000));
  std::vector<std::string> compare_configs, compare_sets;
  CLI::App* compare = app.add_subcommand(
      "compare", "training-step time of several recipes on the same batches, vs the first");
  compare->add_option("configs", compare_configs, "recipe YAML files")
      ->required()
      ->check(CLI::ExistingFile);
  compare->add_option("--set", compare_sets, "override one key in every recipe (repeatable)");
  compare->add_option("--steps", steps, "timed steps per recipe")->check(CLI::Range(1, 100000));
  return cli::run_main(app, argc, argv, [&] {
    if (step->parsed()) return bench_step(step_args, steps);
    if (compare->parsed()) return bench_compare(compare_configs, compare_sets, steps);
    return bench_loader(args, workers, batches);
  });
}

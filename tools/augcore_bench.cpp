// augcore_bench: throughput benchmarks of augcore's components, and the suite that writes
// docs/benchmarks.md.
#include <fmt/core.h>

#include <chrono>

#include <ATen/ATen.h>

#include "augcore/core/error.h"
#include "augcore/core/malloc.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/dist/launch.h"
#include "augcore/dist/local_launch.h"
#include "augcore/dist/process_group.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/tasks/recipe.h"
#include "bench/step_bench.h"
#include "bench/suite.h"
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
  configure_threads(root.integer("threads"), root.boolean("flush_denormal"));
  configure_malloc(root.boolean("retain_freed_memory"));
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

// Step time of several recipes (each with its own model, policies and objective) on the same
// batches (the first recipe's), taking turns, relative to the first.
int bench_compare(const std::vector<std::string>& paths, const std::vector<std::string>& sets,
                  std::int64_t steps) {
  std::vector<config::Config> configs;
  for (const auto& path : paths)
    configs.push_back(config::Config::load(path, sets, train::recipe_schema()));
  const config::Options first = configs.front().root();
  const int threads = configure_threads(first.integer("threads"), first.boolean("flush_denormal"));
  configure_malloc(first.boolean("retain_freed_memory"));
  const auto batches = bench::preload_batches(first, 4);
  std::vector<std::unique_ptr<bench::StepBench>> benches;
  std::vector<bench::Rotation::Timed> timed;
  for (const auto& cfg : configs) {
    benches.push_back(std::make_unique<bench::StepBench>(cfg, batches));
    benches.back()->run(2);
    timed.push_back(bench::Rotation::of(*benches.back()));
  }
  const std::int64_t rounds = 3;
  const bench::Rotation rotation(timed, rounds, (steps + rounds - 1) / rounds);
  for (std::size_t i = 0; i < benches.size(); ++i) {
    const double t = *rotation.seconds(i);
    fmt::print(
        "compare: {} | {} | model {} | batch {} | {} threads | {:.1f} ms ({:.0f} img/s) | "
        "ratio {:.2f}x\n",
        paths[i], benches[i]->label(), benches[i]->model_name(), benches[i]->batch_size(), threads,
        t * 1e3, benches[i]->batch_size() / t, rotation.ratio(i, 0)->median);
  }
  return 0;
}

// The recipe's step with and without its policies and objective.
int bench_step(const cli::RecipeArgs& args, std::int64_t steps) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  const config::Config cfg = cli::load_recipe(args, schema);
  cli::RecipeArgs plain_args = args;
  plain_args.sets.push_back("policies=[]");
  plain_args.sets.push_back("objective={name: standard}");
  const config::Config plain = cli::load_recipe(plain_args, schema);
  const int threads =
      configure_threads(cfg.root().integer("threads"), cfg.root().boolean("flush_denormal"));
  configure_malloc(cfg.root().boolean("retain_freed_memory"));
  const auto batches = bench::preload_batches(cfg.root(), 4);
  bench::StepBench base(plain, batches), with(cfg, batches);
  base.run(2);
  with.run(2);
  const std::int64_t rounds = 3;
  const bench::Rotation rotation({bench::Rotation::of(base), bench::Rotation::of(with)}, rounds,
                                 (steps + rounds - 1) / rounds);
  const double t0 = *rotation.seconds(0), t1 = *rotation.seconds(1);
  const auto batch = with.batch_size();
  fmt::print(
      "step: model {} | batch {} | {} threads | baseline {:.1f} ms ({:.0f} img/s) | with {} "
      "{:.1f} ms ({:.0f} img/s) | ratio {:.2f}x\n",
      with.model_name(), batch, threads, t0 * 1e3, batch / t0, with.label(), t1 * 1e3, batch / t1,
      rotation.ratio(1, 0)->median);
  return 0;
}

// Data-parallel step time of a recipe on --nproc processes (Gloo/NCCL as the recipe's `dist`
// says): every process times `steps` steps on its part of the batch; rank 0 reports the step
// time, the global images/s and the time spent waiting for the gradient all-reduce after
// backward (what overlapping did not hide).
int bench_data_parallel(const cli::RecipeArgs& args, std::int64_t steps) {
  const config::Schema schema = train::recipe_schema();
  if (cli::handle_info_flags(args, schema)) return 0;
  const config::Config cfg = cli::load_recipe(args, schema);
  const dist::LaunchInfo launch = dist::detect_launch();
  if (args.nproc > 1 && !launch.distributed()) {
    return dist::launch_local(args.nproc, dist::without_nproc(cli::command_line()));
  }
  const config::Options root = cfg.root();
  const int threads = configure_threads(root.integer("threads"), root.boolean("flush_denormal"));
  configure_malloc(root.boolean("retain_freed_memory"));
  const std::int64_t batch = root.section("data").section("loader").integer("batch_size");
  c10::Device device = select_device(root.string("device"));
  const auto group = train::join_job(launch, root, device);
  train::DataParallel parallel(*group, train::data_parallel_options(root.section("dist")));
  const auto batches =
      bench::preload_batches(root, 4, data::Shard{group->rank(), group->world_size()});
  bench::StepBench bench(cfg, batches, &parallel);
  parallel.start(bench.model());
  bench.run(2);
  parallel.barrier("barrier(benchmark start)");
  const double before = bench.sync_seconds();
  const double seconds = bench.run(steps);
  parallel.barrier("barrier(benchmark end)");
  const double per_step = seconds / static_cast<double>(steps);
  const double wait = (bench.sync_seconds() - before) / static_cast<double>(steps);
  if (group->rank() != 0) return 0;
  fmt::print(
      "data-parallel: model {} | {} process{} x {} thread{} ({}) | batch {} ({} per process) | "
      "{:.1f} ms/step | {:.0f} img/s | all-reduce wait {:.1f} ms ({:.0f}% of the step) | "
      "engine {}\n",
      bench.model_name(), group->world_size(), group->world_size() == 1 ? "" : "es", threads,
      threads == 1 ? "" : "s", group->distributed() ? group->backend() : "no collectives", batch,
      bench.batch_size(), per_step * 1e3, static_cast<double>(batch) / per_step, wait * 1e3,
      100.0 * wait / per_step, parallel.engine_name());
  fmt::print("figures: ms_per_step={} images_per_s={} allreduce_ms={}\n", per_step * 1e3,
             static_cast<double>(batch) / per_step, wait * 1e3);
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
      "step", "training-step time of a recipe with and without its policies and objective");
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
  cli::RecipeArgs dp_args;
  dp_args.nproc = 2;
  CLI::App* data_parallel = app.add_subcommand(
      "data-parallel",
      "data-parallel step time on --nproc processes (default 2), all-reduce share");
  cli::add_recipe_options(*data_parallel, dp_args);
  data_parallel->add_option("--steps", steps, "timed steps")->check(CLI::Range(1, 100000));
  bench::SuiteOptions suite_options;
  suite_options.reference = AUGCORE_BENCH_REFERENCE;
  suite_options.python = AUGCORE_BENCH_PYTHON;
  CLI::App* suite = app.add_subcommand(
      "suite", "every benchmark side by side with Python PyTorch; writes docs/benchmarks.md");
  suite->add_option("--markdown", suite_options.markdown, "the Markdown page to write");
  suite->add_option("--json", suite_options.json, "the JSON file to write");
  suite->add_option("--work", suite_options.work, "folder for the generated inputs");
  suite->add_option("--python", suite_options.python, "Python with torch and torchvision");
  suite->add_option("--reference", suite_options.reference, "tools/bench/torch_reference.py")
      ->check(CLI::ExistingFile);
  suite
      ->add_option("--fashion-mnist", suite_options.fashion_mnist,
                   "folder with Fashion-MNIST's IDX files")
      ->check(CLI::ExistingDirectory);
  suite->add_flag("--quick", suite_options.quick,
                  "a smoke run: every measurement, a fraction of the repetitions");
  suite->add_flag("--gpu-only", suite_options.gpu_only,
                  "only the CUDA rows (ResNet-50 bf16 channels_last, ViT-S masksub)");
  for (int i = 0; i < argc; ++i)
    suite_options.command += (i ? " " : "") + std::string(argv[i]);
  return cli::run_main(app, argc, argv, [&] {
    if (step->parsed()) return bench_step(step_args, steps);
    if (compare->parsed()) return bench_compare(compare_configs, compare_sets, steps);
    if (suite->parsed()) return bench::run_suite(suite_options);
    if (data_parallel->parsed()) return bench_data_parallel(dp_args, steps);
    return bench_loader(args, workers, batches);
  });
}

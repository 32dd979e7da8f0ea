// augcore_fewshot: few-shot evaluation of a pretrained classifier as Chen et al.'s Baseline:
// N-way K-shot episodes from the recipe's novel classes (data.novel), a new linear classifier
// on the frozen features per episode, mean accuracy with its 95 % confidence interval.
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "augcore/core/error.h"
#include "augcore/core/runtime.h"
#include "augcore/eval/few_shot.h"
#include "common/checkpoint_model.h"
#include "common/cli.h"

namespace {

using namespace augcore;
namespace fs = std::filesystem;

struct Args {
  std::string checkpoint, label;
  cli::CheckpointArgs source;  // --config, --set, --weights
  std::int64_t ways = 5, queries = 15, episodes = 600;
  std::vector<std::int64_t> shots{1, 5};
  std::uint64_t seed = 0;
  std::string output = "runs/fewshot";
};

struct Features {
  at::Tensor x;                      // N×D float, CPU
  std::vector<std::int64_t> labels;  // N
};

Features extract(cli::CheckpointModel& m) {
  Features f;
  std::vector<at::Tensor> parts;
  at::NoGradGuard no_grad;
  m.loader->start_epoch(0);
  while (auto batch = m.loader->next()) {
    if (batch->labels.numel() == 0) continue;
    const at::Tensor x =
        (batch->images.to(m.device).to(at::kFloat).div_(255.0) - m.mean).div_(m.std);
    try {
      parts.push_back(m.model->features(x).to(at::kFloat).cpu());
    } catch (const std::invalid_argument& e) {
      throw ConfigError(std::string("model: ") + e.what());
    }
    const at::Tensor y = batch->labels.to(at::kLong).contiguous();
    f.labels.insert(f.labels.end(), y.data_ptr<std::int64_t>(),
                    y.data_ptr<std::int64_t>() + y.numel());
  }
  f.x = at::cat(parts);
  return f;
}

// Every novel class must hold shots + queries images, and there must be `ways` of them.
void check_sizes(const Features& f, const Args& args, std::int64_t shots) {
  std::map<std::int64_t, std::int64_t> count;
  for (const auto y : f.labels)
    ++count[y];
  if (static_cast<std::int64_t>(count.size()) < args.ways) {
    throw ConfigError(fmt::format("--ways: {} exceeds the {} novel classes of data.novel",
                                  args.ways, count.size()));
  }
  for (const auto& [label, n] : count) {
    if (n < shots + args.queries) {
      throw ConfigError(fmt::format(
          "--shots: {} shots + {} queries need {} images of every novel class; class {} holds {}",
          shots, args.queries, shots + args.queries, label, n));
    }
  }
}

int run(const Args& args) {
  for (const auto k : args.shots)
    if (k < 1) throw ConfigError(fmt::format("--shots: {} is below 1", k));
  cli::CheckpointModel m =
      cli::load_checkpoint_model(args.checkpoint, args.source, data::Split::kNovel);
  const auto t0 = std::chrono::steady_clock::now();
  const Features f = extract(m);
  for (const auto k : args.shots)
    check_sizes(f, args, k);
  fmt::print("features: {} novel images, {} dimensions ({:.1f}s)\n", f.x.size(0), f.x.size(1),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const std::string label =
      args.label.empty() ? cli::checkpoint_label(args.checkpoint) : args.label;
  std::string csv = "label,checkpoint,ways,shots,queries,episodes,seed,accuracy,ci95\n";
  for (const auto k : args.shots) {
    const auto options = eval::EpisodeOptions().ways(args.ways).shots(k).queries(args.queries);
    std::vector<double> accuracy;
    const auto t1 = std::chrono::steady_clock::now();
    for (std::int64_t e = 0; e < args.episodes; ++e) {
      const eval::Episode ep = eval::draw_episode(f.labels, options, args.seed, e);
      const auto rows = [&](const std::vector<std::int64_t>& r) {
        return f.x.index_select(0, at::tensor(r, at::kLong));
      };
      accuracy.push_back(eval::linear_probe_accuracy(
          rows(ep.support), at::tensor(ep.support_labels, at::kLong), rows(ep.query),
          at::tensor(ep.query_labels, at::kLong), args.ways, {}, args.seed, e));
      if ((e + 1) % 100 == 0 || e + 1 == args.episodes) {
        const auto sofar = eval::mean_ci95(accuracy);
        fmt::print("{}-way {}-shot: episode {}/{}: {:.2f}% ± {:.2f}% ({:.1f}s)\n", args.ways, k,
                   e + 1, args.episodes, sofar.mean, sofar.half_width,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
        std::fflush(stdout);
      }
    }
    const auto result = eval::mean_ci95(accuracy);
    csv += fmt::format("{},{},{},{},{},{},{},{:.4f},{:.4f}\n", label, args.checkpoint, args.ways, k,
                       args.queries, args.episodes, args.seed, result.mean, result.half_width);
  }
  fs::create_directories(args.output);
  const std::string path = (fs::path(args.output) / "fewshot.csv").string();
  write_file_atomic(path, csv);
  fmt::print("wrote {}\n", path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "augcore_fewshot: N-way K-shot evaluation of a checkpoint's frozen features on the "
      "recipe's novel classes (Chen et al.'s Baseline: a linear classifier per episode)"};
  Args args;
  app.add_option("--checkpoint", args.checkpoint, "an mra_train checkpoint (the pretrained model)")
      ->required();
  app.add_option("--label", args.label, "its name in fewshot.csv (default: its run directory)");
  cli::add_checkpoint_options(app, args.source);
  app.add_option("--ways", args.ways, "classes per episode")->check(CLI::Range(2, 1000));
  app.add_option("--shots", args.shots, "support images per class (one run per value)");
  app.add_option("--queries", args.queries, "query images per class")->check(CLI::Range(1, 100000));
  app.add_option("--episodes", args.episodes, "episodes per setting")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", args.seed, "seed of the episode draws and probe initialisations");
  app.add_option("--output", args.output, "where fewshot.csv goes");
  return cli::run_main(app, argc, argv, [&] { return run(args); });
}

// augcore_eval: evaluates checkpoints on their recipe's validation set: top-1/top-5, optionally
// per long-tail shot group, and under CutMix's centre-occlusion test (a CSV and a PNG curve).
#include <ATen/ATen.h>
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "augcore/core/error.h"
#include "augcore/core/runtime.h"
#include "augcore/data/subset.h"
#include "augcore/eval/long_tail.h"
#include "augcore/eval/occlusion.h"
#include "augcore/train/tasks/evaluate.h"
#include "common/checkpoint_model.h"
#include "common/cli.h"
#include "common/plot.h"

namespace {

using namespace augcore;
namespace fs = std::filesystem;

struct Args {
  std::vector<std::string> checkpoints, labels;
  cli::CheckpointArgs source;  // --config, --set, --weights
  bool occlusion = false;
  std::vector<std::int64_t> holes;
  std::int64_t hole_steps = 8;
  std::string fill = "zero";
  bool shot_accuracy = false;
  std::string output = "runs/eval";
};

// One row of eval.csv.
struct Row {
  std::string label, checkpoint;
  std::int64_t hole = -1;  // -1: no occlusion
  train::EvalResult result;
  std::optional<eval::ShotAccuracy> shots;
};

class Evaluator {
 public:
  Evaluator(const Args& args, const std::string& path, const std::string& label)
      : path_(path),
        label_(label),
        m_(cli::load_checkpoint_model(path, args.source, data::Split::kVal)) {
    shape_ = m_.loader->sample_shape();
    setup_.mean = m_.mean;
    setup_.std = m_.std;
    setup_.device = m_.device;
    if (args.shot_accuracy) {
      train_counts_ = data::class_counts(*m_.train);
      setup_.num_classes = m_.train->num_classes();
    }
    fill_ = args.fill == "mean" ? m_.config->root().section("data").reals("mean")
                                : std::vector<double>{0.0};
  }

  std::int64_t image_size() const { return std::min(shape_[1], shape_[2]); }

  Row run(std::int64_t hole) {
    const auto t0 = std::chrono::steady_clock::now();
    train::EvalSetup setup = setup_;
    if (hole >= 0) {
      setup.pixels = [hole, fill = fill_](const at::Tensor& x) {
        return eval::occlude_outside_centre(x, hole, fill);
      };
    }
    Row row{label_, path_, hole, train::evaluate(*m_.model, *m_.loader, setup), std::nullopt};
    if (!train_counts_.empty()) {
      row.shots =
          eval::shot_accuracy(train_counts_, row.result.class_images, row.result.class_hits);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("{}{}: top-1 {:.2f}% top-5 {:.2f}% loss {:.4f} ({} images, {:.1f}s)\n", label_,
               hole >= 0 ? fmt::format(" hole {}", hole) : "", row.result.top1, row.result.top5,
               row.result.loss, row.result.images, s);
    if (row.shots) {
      fmt::print("  many-shot {:.2f}% ({} classes), medium {:.2f}% ({}), few-shot {:.2f}% ({})\n",
                 row.shots->many.accuracy, row.shots->many.classes, row.shots->medium.accuracy,
                 row.shots->medium.classes, row.shots->few.accuracy, row.shots->few.classes);
    }
    std::fflush(stdout);
    return row;
  }

 private:
  std::string path_, label_;
  cli::CheckpointModel m_;
  std::array<std::int64_t, 3> shape_{};
  train::EvalSetup setup_;
  std::vector<std::int64_t> train_counts_;
  std::vector<double> fill_;
};

std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.4f}", v) : "";
}

std::string csv(const std::vector<Row>& rows) {
  std::string out = "label,checkpoint,hole,top1,top5,top1_error,loss,images";
  const bool shots = !rows.empty() && rows.front().shots;
  if (shots) out += ",many_shot_top1,medium_shot_top1,few_shot_top1";
  out += "\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{},{}", r.label, r.checkpoint,
                       r.hole >= 0 ? std::to_string(r.hole) : "", number(r.result.top1),
                       number(r.result.top5), number(100.0 - r.result.top1), number(r.result.loss),
                       r.result.images);
    if (shots) {
      out += fmt::format(",{},{},{}", number(r.shots->many.accuracy),
                         number(r.shots->medium.accuracy), number(r.shots->few.accuracy));
    }
    out += "\n";
  }
  return out;
}

void plot(const std::vector<Row>& rows, const std::string& path, const std::string& fill) {
  plot::Panel panel{"Centre occlusion (outside the hole filled with " + fill + ")",
                    "hole side (pixels)",
                    "top-1 error (%)",
                    {},
                    false,
                    true};
  for (const auto& r : rows) {
    if (r.hole < 0) continue;
    if (panel.series.empty() || panel.series.back().name != r.label) {
      panel.series.push_back({r.label, {}, {}, {}, {}, 0, false});
    }
    panel.series.back().x.push_back(static_cast<double>(r.hole));
    panel.series.back().y.push_back(100.0 - r.result.top1);
  }
  plot::write_png(path, {panel});
}

int run(Args& args) {
  if (!args.labels.empty() && args.labels.size() != args.checkpoints.size()) {
    throw ConfigError(fmt::format("--label: {} labels for {} checkpoints", args.labels.size(),
                                  args.checkpoints.size()));
  }
  if (!args.holes.empty()) args.occlusion = true;
  std::vector<Row> rows;
  for (std::size_t i = 0; i < args.checkpoints.size(); ++i) {
    const std::string& path = args.checkpoints[i];
    Evaluator evaluator(args, path,
                        args.labels.empty() ? cli::checkpoint_label(path) : args.labels[i]);
    const std::int64_t size = evaluator.image_size();
    std::vector<std::int64_t> holes;
    if (args.occlusion)
      holes = args.holes.empty() ? eval::hole_sizes(size, args.hole_steps) : args.holes;
    for (const auto h : holes) {
      if (h > size) {
        throw ConfigError(
            fmt::format("--holes: {} is larger than the {}-pixel images of {}", h, size, path));
      }
    }
    rows.push_back(evaluator.run(-1));
    for (const auto h : holes)
      rows.push_back(evaluator.run(h));
  }
  fs::create_directories(args.output);
  const std::string csv_path = (fs::path(args.output) / "eval.csv").string();
  write_file_atomic(csv_path, csv(rows));
  fmt::print("wrote {}\n", csv_path);
  if (args.occlusion) {
    const std::string png = (fs::path(args.output) / "occlusion.png").string();
    plot(rows, png, args.fill == "mean" ? "the dataset mean" : "zeros");
    fmt::print("wrote {}\n", png);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "augcore_eval: evaluate checkpoints on their recipe's validation set (top-1/top-5, "
      "long-tail shot groups, centre occlusion)"};
  Args args;
  app.add_option("--checkpoint", args.checkpoints,
                 "an mra_train checkpoint (repeat for several; one curve each)")
      ->required();
  app.add_option("--label", args.labels,
                 "a name per checkpoint (default: its run directory's name)");
  cli::add_checkpoint_options(app, args.source);
  app.add_flag("--occlusion", args.occlusion,
               "also evaluate with everything outside a centred hole filled (CutMix's test)");
  app.add_option("--holes", args.holes, "hole sides in pixels (implies --occlusion)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--hole-steps", args.hole_steps,
                 "without --holes: sides 0, S/k, ..., S for S-pixel images")
      ->check(CLI::Range(1, 1024));
  app.add_option("--fill", args.fill,
                 "what replaces the outside: zero (black pixels, as CutMix) or mean (the "
                 "dataset mean, i.e. zero after normalisation)")
      ->check(CLI::IsMember({"zero", "mean"}));
  app.add_flag("--shot-accuracy", args.shot_accuracy,
               "also report many-shot (>100 training images), medium and few-shot (<20) classes");
  app.add_option("--output", args.output, "where eval.csv and occlusion.png go");
  return cli::run_main(app, argc, argv, [&] { return run(args); });
}

#include "suite.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "augcore/augment/policy_registry.h"
#include "augcore/augment/saliency.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/malloc.h"
#include "augcore/core/runtime.h"
#include "augcore/core/torch_compat.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/classifier.h"
#include "augcore/models/vit.h"
#include "augcore/objective/masksub.h"
#include "augcore/train/tasks/recipe.h"
#include "fixtures.h"
#include "report.h"
#include "step_bench.h"

namespace augcore::bench {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Numbers = std::map<std::string, double>;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// What every benchmark recipe shares, under the recipe-specific text below.
const char* const kCommon = "seed: 0\nthreads: 0\ndevice: cpu\n";

// Fashion-MNIST at 28 px with the shipped recipes' crop + flip, ResNet-20 and SGD.
const char* const kFashion = R"(
data:
  train: {name: idx, split: train}
  val: null
  train_transforms:
    - {name: random_crop, size: 28, padding: 2}
    - hflip
  mean: [0.2860]
  std: [0.3530]
  loader: {batch_size: 128, workers: 0}
model: {name: resnet20}
optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0005, no_decay_bias_norm: false}
train: {lr: 0.1}
)";

// The generated JPEG ImageFolder with ImageNet's RandomResizedCrop(224) + flip.
const char* const kJpeg = R"(
data:
  train: {name: image_folder, channels: 3}
  val: null
  train_transforms:
    - {name: random_resized_crop, size: 224}
    - hflip
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
  loader: {batch_size: 8, workers: 0}
model: {name: resnet50}
optimizer: {name: sgd, momentum: 0.9, weight_decay: 0.0001, no_decay_bias_norm: false}
train: {lr: 0.1}
)";

// The generated CIFAR-10 binary files with the CIFAR crop + flip.
const char* const kCifar = R"(
data:
  train: {name: cifar, split: train}
  val: null
  train_transforms:
    - {name: random_crop, size: 32, padding: 4}
    - hflip
  mean: [0.4914, 0.4822, 0.4465]
  std: [0.2470, 0.2435, 0.2616]
  loader: {batch_size: 128, workers: 0}
model: {name: resnet20}
)";

// AdamW at ViT learning rates (the Python reference uses the same).
const char* const kAdamW = "optimizer={name: adamw, weight_decay: 0.05, no_decay_bias_norm: false}";
const char* const kAdamWLr = "train.lr=0.001";

// The pass a method cannot do without, timed alone for the floor of its overhead.
enum class Floor {
  kNone,
  kSaliencyLowRes,  // KeepAugment's saliency at half resolution: eval forward + input gradient
  kPolicy,          // the policy itself on a batch (MRA: the MAE's ranking, encoder, decoder)
  kSubTokens,       // MaskSub's sub pass: forward + backward on half the patch tokens
  kSubMasked,       // MaskSub's sub pass on a CNN: forward + backward on the cell-masked image
};

struct Variant {
  std::string policy, settings;
  std::vector<std::string> sets;
  Floor floor = Floor::kNone;
};

struct Group {
  std::string model, input;
  const char* yaml;
  std::vector<std::string> sets;
  std::vector<Variant> variants;
  bool big = false;  // a slow step: fewer steps per round (and the smaller batch at 224 px)
  std::int64_t batch = 128;
  // The Python reference of the plain step (torch_reference.py step's arguments; none when
  // the model has no reference), the input as section 2 names it and the optimizer.
  std::string python_args = {}, step_input = {}, optimizer = {};
};

// The Python reference's training step as a child process that runs steps on request
// (torch_reference.py step --serve), so that its runs interleave with augcore's.
class PythonSteps {
 public:
  explicit PythonSteps(const std::string& command) {
    // Close-on-exec: a child started later must not inherit this child's pipe ends, or this
    // child never sees the end of its input and the destructor's waitpid waits forever.
    // (dup2 onto 0 and 1 clears the flag for the child's own ends.)
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      for (const int fd : {to_child[0], to_child[1], from_child[0], from_child[1]})
        close(fd);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_ = fdopen(to_child[1], "w");
    from_ = fdopen(from_child[0], "r");
    if (pid_ < 0 || !to_ || !from_) return;
    const auto hello = read_record();
    ok_ = hello.contains("parameters") && hello["parameters"].is_number();
    if (!ok_) return;
    parameters_ = hello["parameters"].get<double>();
    first_step_ = hello.value("first_step_seconds", 0.0);
  }
  ~PythonSteps() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  PythonSteps(const PythonSteps&) = delete;
  PythonSteps& operator=(const PythonSteps&) = delete;

  bool ok() const { return ok_; }
  double parameters() const { return parameters_; }
  // The first step's seconds (under torch.compile, mostly compiling).
  double first_step() const { return first_step_; }
  // Seconds of `steps` more steps.
  std::optional<double> run(std::int64_t steps) {
    if (!ok()) return std::nullopt;
    std::fprintf(to_, "%lld\n", static_cast<long long>(steps));
    std::fflush(to_);
    return read_number("seconds");
  }

 private:
  // The child's next line as a JSON object (empty when it printed none).
  // Lines that are not JSON objects (a library's message on stdout) are skipped; at the end of
  // the child's output the child is taken as failed.
  nlohmann::json read_record() {
    char line[4096];
    while (std::fgets(line, sizeof line, from_)) {
      auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_object()) return record;
    }
    ok_ = false;
    return nlohmann::json::object();
  }

  std::optional<double> read_number(const std::string& key) {
    const auto record = read_record();
    if (!record.contains(key) || !record[key].is_number()) return std::nullopt;
    return record[key].get<double>();
  }

  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  std::FILE* from_ = nullptr;
  bool ok_ = false;
  double parameters_ = 0;
  double first_step_ = 0;
};

std::string read_first_line(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      std::string v = line.substr(prefix.size());
      const auto start = v.find_first_not_of(" \t:=\"");
      v = start == std::string::npos ? "" : v.substr(start);
      while (!v.empty() && (v.back() == '"' || v.back() == ' '))
        v.pop_back();
      return v;
    }
  }
  return "unknown";
}

class Suite {
 public:
  explicit Suite(SuiteOptions o) : o_(std::move(o)) {
    if (o_.quick) {
      seconds_ = 0.3;
      rounds_ = 2;
      big_rounds_ = 2;
      steps_ = 1;
      warmup_ = 1;
      big_steps_ = 1;
      // The same measurements on smaller batches: every code path, a fraction of the work.
      small_batch_ = 16;
      cifar_batch_ = 8;
      big_batch_ = 1;
    }
  }

  Report run() {
    const auto t0 = Clock::now();
    threads_ = configure_threads(0);
    configure_malloc(true);  // as every recipe does by default (`retain_freed_memory`)
    prepare_inputs();
    describe_machine();
    if (!o_.gpu_only) {
      loader_section();
      model_sections();
      augment_section();
      data_parallel_section();
    }
    gpu_section();
    report_.targets = targets();
    report_.seconds = since(t0);
    return std::move(report_);
  }

 private:
  std::string work(const std::string& name) const { return (fs::path(o_.work) / name).string(); }

  void prepare_inputs() {
    fmt::print("suite: preparing inputs in {}\n", o_.work);
    std::fflush(stdout);
    make_jpeg_folder(work("jpeg"), 4, 150);
    make_cifar_binary(work("cifar"), o_.fashion_mnist, 10000);
    make_mae_checkpoint(work("mae_tiny_patch4_28.pt"), "mae_tiny_patch4_28", 1);
    make_mae_checkpoint(work("mae_mini.pt"), "mae_mini", 3);
  }

  config::Config recipe(const char* yaml, const std::vector<std::string>& sets) const {
    config::Node node = config::parse_yaml(std::string(kCommon) + yaml, "benchmark recipe");
    config::apply_override(node, "data.train.root=" + root_of(yaml));
    for (const auto& s : sets)
      config::apply_override(node, s);
    return config::Config::from_node(node, train::recipe_schema());
  }

  std::string root_of(const char* yaml) const {
    if (yaml == kJpeg) return work("jpeg");
    if (yaml == kCifar) return work("cifar");
    return o_.fashion_mnist;
  }

  // What `command` printed, or nothing (noted, with `what`) when it fails or prints nothing.
  static std::optional<std::string> output_of(const std::string& command, const std::string& what) {
    std::FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return std::nullopt;
    std::string out;
    char buffer[4096];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
      out.append(buffer, n);
    const int status = pclose(pipe);
    if (status != 0 || out.empty()) {
      fmt::print("suite: {} failed ({}): {}\n{}", what, status, command, out);
      return std::nullopt;
    }
    return out;
  }

  // Runs the Python reference with `args`; its figures, or nothing (noted) when it fails.
  std::optional<Numbers> python(const std::string& args) {
    const auto out = output_of(o_.python + " " + o_.reference + " " + args, "python reference");
    if (!out) return std::nullopt;
    Numbers numbers;
    const auto record = nlohmann::json::parse(*out, nullptr, false);
    if (!record.is_object()) {
      fmt::print("suite: the python reference printed no JSON object:\n{}\n", *out);
      return std::nullopt;
    }
    for (const auto& [key, value] : record.items()) {
      if (value.is_number()) numbers[key] = value.get<double>();
    }
    report_.machine["python"] = o_.python + ": torch " + python_version(record);
    return numbers;
  }

  static std::string python_version(const nlohmann::json& record) {
    const auto text = [&](const char* key) {
      return record.contains(key) && record[key].is_string() ? record[key].get<std::string>()
                                                             : std::string("?");
    };
    return text("torch") + ", torchvision " + text("torchvision");
  }

  void describe_machine() {
    report_.command = o_.command;
    const std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    report_.date = date;
    auto& m = report_.machine;
    m["cpu"] = read_first_line("/proc/cpuinfo", "model name");
    m["cores"] = fmt::format("{} (augcore intra-op threads: {})",
                             std::thread::hardware_concurrency(), threads_);
    const std::string mem = read_first_line("/proc/meminfo", "MemTotal");
    m["memory"] = fmt::format("{:.1f} GiB", std::stod(mem == "unknown" ? "0" : mem) / 1048576.0);
    m["os"] = read_first_line("/etc/os-release", "PRETTY_NAME");
    m["libtorch"] =
        fmt::format("{} ({}CUDA)", compat::torch_version(), compat::cuda_available() ? "" : "no ");
    const std::string core = blas_core();
    m["blas"] = core.empty() ? (torch_uses_mkl() ? "MKL (linked into LibTorch)" : "not OpenBLAS")
                             : fmt::format("OpenBLAS, {} kernels{}", core,
                                           std::getenv("OPENBLAS_CORETYPE")
                                               ? " (chosen by CPU features: OPENBLAS_CORETYPE is "
                                                 "set, for the Python reference too)"
                                               : "");
    m["compiler"] = __VERSION__;
    report_.libtorch = compat::torch_version();
    // The Python side: its versions, and whether it has torch.compile (PyTorch 2.x).
    m["python"] = "not run";
    if (const auto out = output_of(o_.python + " " + o_.reference + " info", "python reference")) {
      const auto record = nlohmann::json::parse(*out, nullptr, false);
      if (record.is_object()) {
        m["python"] = o_.python + ": torch " + python_version(record);
        compile_ = record.value("compile", false);
      }
    }
  }

  double augcore_loader_rate(const config::Config& cfg) {
    const config::Options root = cfg.root();
    auto loader = data::make_loader(root.section("data"), data::Split::kTrain, 0);
    std::int64_t epoch = 0;
    loader->start_epoch(epoch);
    auto next = [&] {
      auto b = loader->next();
      if (!b) {
        loader->start_epoch(++epoch);
        b = loader->next();
      }
      return b;
    };
    next();
    const auto t0 = Clock::now();
    std::int64_t images = 0;
    while (since(t0) < seconds_)
      images += next()->images.size(0);
    return static_cast<double>(images) / since(t0);
  }

  void loader_section() {
    struct Case {
      std::string dataset, transforms, kind;
      const char* yaml;
      int batch;
    };
    const std::vector<Case> cases = {
        {"Fashion-MNIST (IDX, 60k × 28×28 grey)", "RandomCrop(28, pad 2) + flip", "idx", kFashion,
         128},
        {"CIFAR-10 binary format (50k × 32×32 RGB)", "RandomCrop(32, pad 4) + flip", "cifar",
         kCifar, 128},
        {"ImageFolder, 600 JPEGs 500×375 (q 90)", "RandomResizedCrop(224) + flip", "jpeg", kJpeg,
         64},
    };
    for (const auto& c : cases) {
      for (const int workers : {1, 2}) {
        Row row{"loader", {{"dataset", c.dataset}, {"transforms", c.transforms}}, {}};
        row.numbers["workers"] = workers;
        row.numbers["batch"] = c.batch;
        const auto cfg = recipe(c.yaml, {fmt::format("data.loader.workers={}", workers),
                                         fmt::format("data.loader.batch_size={}", c.batch)});
        const double ours = augcore_loader_rate(cfg);
        row.numbers["augcore_images_per_s"] = ours;
        const auto theirs =
            python(fmt::format("loader --kind {} --root {} --workers {} --batch {} --seconds {}",
                               c.kind, root_of(c.yaml), workers, c.batch, seconds_));
        if (theirs && theirs->count("images_per_s")) {
          row.numbers["torch_images_per_s"] = theirs->at("images_per_s");
          row.numbers["ratio"] = ours / theirs->at("images_per_s");
        }
        print(row, "loader " + c.kind + " workers " + std::to_string(workers));
        report_.rows.push_back(std::move(row));
      }
    }
  }

  static void print(const Row& row, const std::string& what) {
    std::string figures;
    for (const auto& [k, v] : row.numbers)
      figures += fmt::format(" {}={:.4g}", k, v);
    fmt::print("{}:{}\n", what, figures);
    std::fflush(stdout);
  }

  const std::vector<data::Batch>& batches(const char* yaml, std::int64_t batch) {
    const std::string key = fmt::format("{}/{}", root_of(yaml), batch);
    auto it = batches_.find(key);
    if (it == batches_.end()) {
      const auto cfg = recipe(yaml, {fmt::format("data.loader.batch_size={}", batch)});
      it = batches_.emplace(key, preload_batches(cfg.root(), 4)).first;
    }
    return it->second;
  }

  std::vector<Group> groups() const {
    const std::string mra_small = fmt::format(
        "{{name: mra, checkpoint: {}, preset: mae_tiny_patch4_28, in_chans: 1, mask_ratio: 0.4, "
        "mode: low, p: 1.0, mean: [0.2860], std: [0.3530]}}",
        work("mae_tiny_patch4_28.pt"));
    const std::string keep_cutmix = "{name: keep_cutmix, alpha: 1.0, saliency: low_res}";
    const std::string masksub_cnn = "objective={name: masksub, ratio: 0.5, cell: 4}";
    const std::string small_input = fmt::format("28 px, {}", small_batch_);
    Group small{"resnet20", small_input, kFashion, {}, {}};
    small.batch = small_batch_;
    small.variants = {
        {"none", "baseline", {}},
        {"cutout", "length 12", {"policies=[{name: cutout, length: 12}]"}},
        {"keep_cutout",
         "full saliency",
         {"policies=[{name: keep_cutout, length: 12, saliency: full}]"}},
        {"keep_cutout",
         "low_res saliency",
         {"policies=[{name: keep_cutout, length: 12, saliency: low_res}]"},
         Floor::kSaliencyLowRes},
        {"keep_cutout",
         "early_head saliency (+ early-head loss 0.3)",
         {"policies=[{name: keep_cutout, length: 12, saliency: early_head}]",
          "model={name: resnet20, early_head: true}"}},
        {"keep_cutmix", "alpha 1, low_res saliency", {"policies=[" + keep_cutmix + "]"}},
        {"randaugment", "timm rand-m9-n2", {"policies=[{name: randaugment}]"}},
        {"keep_randaugment",
         "rand-m9-n2, paste 12, low_res",
         {"policies=[{name: keep_randaugment, paste_length: 12, saliency: low_res}]"}},
        {"masksub", "mask 50 %, 4-px cells", {masksub_cnn}, Floor::kSubMasked},
        {"mra", "MAE-Tiny (patch 4), mask 40 % low, p 1", {"policies=[" + mra_small + "]"}},
        {"mra + keep_cutmix + masksub",
         "as above, together",
         {"policies=[" + mra_small + ", " + keep_cutmix + "]", masksub_cnn}},
    };
    Group vit{"vit (6×128, patch 7)",
              small_input,
              kFashion,
              {"model={name: vit, patch_size: 7, embed_dim: 128, depth: 6, num_heads: 4}", kAdamW,
               kAdamWLr},
              {{"none", "baseline", {}},
               {"masksub",
                "mask 50 % of tokens",
                {"objective={name: masksub, ratio: 0.5}"},
                Floor::kSubTokens}}};
    const std::string big = fmt::format("224 px, {}", big_batch_);
    Group r50{"resnet50", big, kJpeg, {}, {}};
    r50.variants = {
        {"none", "baseline", {}},
        {"mra",
         "MAE-Mini (4×480, patch 16), mask 40 % low, p 1",
         {fmt::format("policies=[{{name: mra, checkpoint: {}, preset: mae_mini, mask_ratio: 0.4, "
                      "mode: low, p: 1.0}}]",
                      work("mae_mini.pt"))},
         Floor::kPolicy},
        {"keep_cutmix", "alpha 1, low_res saliency", {"policies=[" + keep_cutmix + "]"}},
    };
    Group deit{"vit_tiny_patch16_224",
               big,
               kJpeg,
               {"model={name: vit_tiny_patch16_224}", kAdamW, kAdamWLr},
               {{"none", "baseline", {}},
                {"masksub",
                 "mask 50 % of tokens",
                 {"objective={name: masksub, ratio: 0.5}"},
                 Floor::kSubTokens}}};
    // KeepAugment's own setting: CIFAR-10 (here the CIFAR-format copy) with PreAct ResNet-18.
    Group cifar{"preact_resnet18",
                fmt::format("32 px, {}", cifar_batch_),
                kCifar,
                {"model={name: preact_resnet18}"},
                {},
                true,
                cifar_batch_};
    cifar.variants = {
        {"none", "baseline", {}},
        {"cutout", "length 16", {"policies=[{name: cutout, length: 16}]"}},
        {"keep_cutout",
         "full saliency",
         {"policies=[{name: keep_cutout, length: 16, saliency: full}]"}},
        {"keep_cutout",
         "low_res saliency",
         {"policies=[{name: keep_cutout, length: 16, saliency: low_res}]"},
         Floor::kSaliencyLowRes},
        {"keep_cutout",
         "early_head saliency (+ early-head loss 0.3)",
         {"policies=[{name: keep_cutout, length: 16, saliency: early_head}]",
          "model={name: preact_resnet18, early_head: true}"}},
    };
    r50.big = deit.big = true;
    r50.batch = deit.batch = big_batch_;
    vit.batch = small_batch_;
    small.python_args = "--model resnet20 --image 28 --channels 1";
    vit.python_args =
        "--model vit --image 28 --channels 1 --patch 7 --dim 128 --depth 6 --heads 4 "
        "--optimizer adamw";
    r50.python_args = "--model resnet50 --image 224 --classes 4 --weight-decay 1e-4";
    deit.python_args =
        "--model vit --image 224 --classes 4 --patch 16 --dim 192 --depth 12 --heads 3 "
        "--optimizer adamw";
    small.step_input = vit.step_input = "28×28×1";
    r50.step_input = deit.step_input = "224×224×3";
    small.optimizer = r50.optimizer = "sgd";
    vit.optimizer = deit.optimizer = "adamw";
    return {small, cifar, vit, r50, deit};
  }

  std::vector<std::string> variant_sets(const Group& g, const Variant& v) const {
    std::vector<std::string> sets = g.sets;
    sets.push_back(fmt::format("data.loader.batch_size={}", g.batch));
    sets.insert(sets.end(), v.sets.begin(), v.sets.end());
    return sets;
  }

  // Sections 2, 3 and 7 of one model from one rotation: augcore's plain step and each policy's
  // step, the Python reference's plain step (eager and under torch.compile) and each method's
  // essential pass take turns, so that the plain step has one figure on the page and every
  // ratio divides figures of the same rounds.
  void model_sections() {
    bool compile_first = true;
    for (const Group& g : groups()) {
      std::vector<std::unique_ptr<StepBench>> benches;
      std::vector<Rotation::Timed> timed;
      for (const auto& v : g.variants) {
        benches.push_back(std::make_unique<StepBench>(recipe(g.yaml, variant_sets(g, v)),
                                                      batches(g.yaml, g.batch)));
        benches.back()->run(warmup_);
        timed.push_back(Rotation::of(*benches.back()));
      }
      auto python = python_references(g, compile_first);
      std::vector<std::optional<std::size_t>> python_index;
      for (const auto& child : python) {
        python_index.emplace_back();
        if (!child) continue;
        python_index.back() = timed.size();
        timed.push_back([c = child.get()](std::int64_t n) { return c->run(n); });
      }
      std::vector<std::pair<std::size_t, std::size_t>> floored;  // (variant, contestant)
      for (std::size_t i = 0; i < g.variants.size(); ++i) {
        const Variant& v = g.variants[i];
        if (v.floor == Floor::kNone) continue;
        auto pass = essential_pass(v.floor, recipe(g.yaml, variant_sets(g, v)),
                                   *benches[reference_of(g, i)], batches(g.yaml, g.batch).front());
        pass();
        floored.emplace_back(i, timed.size());
        timed.push_back([pass](std::int64_t n) -> std::optional<double> {
          const auto t0 = Clock::now();
          for (std::int64_t k = 0; k < n; ++k)
            pass();
          return since(t0);
        });
      }
      const Rotation rotation(timed, g.big ? big_rounds_ : rounds_, g.big ? big_steps_ : steps_);
      if (!python.empty()) step_row(g, *benches[0], rotation, python, python_index);
      overhead_rows(g, rotation);
      for (const auto& [variant, contestant] : floored)
        floor_row(g, variant, rotation, contestant);
    }
  }

  // The Python reference's plain step of the group's model: eager, and under torch.compile
  // when the Python has it (a smoke run compiles only the first model: compiling takes
  // minutes). None when the model has no reference.
  std::vector<std::unique_ptr<PythonSteps>> python_references(const Group& g, bool& compile_first) {
    std::vector<std::unique_ptr<PythonSteps>> children;
    if (g.python_args.empty()) return children;
    const std::string command =
        fmt::format("{} {} step {} --batch {} --warmup {} --threads {} --serve", o_.python,
                    o_.reference, g.python_args, g.batch, warmup_, threads_);
    children.push_back(std::make_unique<PythonSteps>(command));
    if (!children[0]->ok()) fmt::print("suite: python reference failed: step {}\n", g.python_args);
    children.emplace_back();
    if (compile_ && (!o_.quick || compile_first)) {
      fmt::print("suite: compiling the Python reference (torch.compile): {}\n", g.model);
      std::fflush(stdout);
      children[1] = std::make_unique<PythonSteps>(command + " --compile");
      if (!children[1]->ok()) fmt::print("suite: torch.compile failed: step {}\n", g.python_args);
    }
    compile_first = false;
    return children;
  }

  // `key` with its interval: key_low and key_high. Every ratio of a row comes from one
  // rotation, so the row has one coverage.
  static void put(Numbers& numbers, const std::string& key, const eval::MedianInterval& m) {
    numbers[key] = m.median;
    numbers[key + "_low"] = m.low;
    numbers[key + "_high"] = m.high;
    numbers["coverage"] = m.coverage;
  }

  // augcore's plain step (contestant 0) against the Python reference's, eager and compiled
  // (their contestants in `python_index`, none when a child did not start).
  void step_row(const Group& g, const StepBench& bench, const Rotation& rotation,
                const std::vector<std::unique_ptr<PythonSteps>>& python,
                const std::vector<std::optional<std::size_t>>& index) {
    const double batch = static_cast<double>(g.batch);
    Row row{"step", {{"model", g.model}, {"input", g.step_input}, {"optimizer", g.optimizer}}, {}};
    row.numbers["batch"] = batch;
    row.numbers["augcore_images_per_s"] = batch / *rotation.seconds(0);
    row.numbers["augcore_parameters"] = static_cast<double>(bench.parameters());
    if (index[0] && rotation.seconds(*index[0])) {
      row.numbers["torch_images_per_s"] = batch / *rotation.seconds(*index[0]);
      row.numbers["torch_parameters"] = python[0]->parameters();
      put(row.numbers, "ratio", *rotation.ratio(*index[0], 0));
    }
    if (index[1] && rotation.seconds(*index[1])) {
      const double compiled = *rotation.seconds(*index[1]);
      row.numbers["compiled_images_per_s"] = batch / compiled;
      put(row.numbers, "ratio_compiled", *rotation.ratio(*index[1], 0));
      row.numbers["compile_seconds"] = std::max(0.0, python[1]->first_step() - compiled);
    }
    print(row, "step " + g.model);
    report_.rows.push_back(std::move(row));
  }

  void overhead_rows(const Group& g, const Rotation& rotation) {
    std::optional<std::size_t> cutout;
    for (std::size_t i = 0; i < g.variants.size(); ++i) {
      const Variant& v = g.variants[i];
      Row row{
          "overhead",
          {{"model", g.model}, {"input", g.input}, {"policy", v.policy}, {"settings", v.settings}},
          {}};
      const double step = *rotation.seconds(i);
      row.numbers["ms_per_step"] = step * 1e3;
      row.numbers["images_per_s"] = static_cast<double>(g.batch) / step;
      put(row.numbers, "ratio", *rotation.ratio(i, 0));
      if (v.policy == "cutout") cutout = i;
      if (v.policy == "keep_cutout" && cutout)
        put(row.numbers, "ratio_to_cutout", *rotation.ratio(i, *cutout));
      print(row, "overhead " + g.model + " " + v.policy + " (" + v.settings + ")");
      report_.rows.push_back(std::move(row));
    }
  }

  // The step a method's overhead is compared with: Cutout's for KeepCutout (the same hole
  // without the saliency), the plain step (variant 0) otherwise.
  static std::size_t reference_of(const Group& g, std::size_t variant) {
    if (g.variants[variant].floor != Floor::kSaliencyLowRes) return 0;
    for (std::size_t i = 0; i < g.variants.size(); ++i) {
      if (g.variants[i].policy == "cutout") return i;
    }
    return 0;
  }

  // A method's floor: the ratio its essential pass alone would give against the step it is
  // compared with, 1 + pass / step, per round. A measured overhead at its floor has nothing
  // left to optimise but the pass itself.
  void floor_row(const Group& g, std::size_t variant, const Rotation& rotation, std::size_t pass) {
    const Variant& v = g.variants[variant];
    const std::size_t reference = reference_of(g, variant);
    Row row{"floor",
            {{"model", g.model},
             {"input", g.input},
             {"policy", v.policy},
             {"settings", v.settings},
             {"pass", floor_name(v.floor)},
             {"against", g.variants[reference].policy == "none"
                             ? "the plain step"
                             : g.variants[reference].policy + "'s step"}},
            {}};
    row.numbers["pass_ms"] = *rotation.seconds(pass) * 1e3;
    row.numbers["step_ms"] = *rotation.seconds(reference) * 1e3;
    auto floor = *rotation.ratio(pass, reference);
    floor.median += 1;
    floor.low += 1;
    floor.high += 1;
    put(row.numbers, "floor", floor);
    put(row.numbers, "measured", *rotation.ratio(variant, reference));
    print(row, "floor " + g.model + " " + v.policy + " (" + v.settings + ")");
    report_.rows.push_back(std::move(row));
  }

  static std::string floor_name(Floor floor) {
    switch (floor) {
      case Floor::kSaliencyLowRes:
        return "saliency at half resolution (eval forward + input gradient)";
      case Floor::kPolicy:
        return "the policy alone on a batch";
      case Floor::kSubTokens:
        return "sub pass: forward + backward on 50 % of the patch tokens";
      case Floor::kSubMasked:
        return "sub pass: forward + backward on the masked image (all pixels)";
      case Floor::kNone:
        break;
    }
    return "";
  }

  // The pass of `floor` on one batch, with `bench`'s model (its mode is restored).
  std::function<void()> essential_pass(Floor floor, const config::Config& cfg, StepBench& bench,
                                       const data::Batch& batch) {
    auto* model = dynamic_cast<models::ClassifierImpl*>(&bench.model());
    const at::Tensor pixels = batch.images.to(at::kFloat).div_(255.0);
    const at::Tensor labels = batch.labels;
    const config::Options root = cfg.root();
    const auto data = root.section("data");
    const std::vector<double> mean = data.reals("mean");
    const std::vector<double> stdev = data.reals("std");
    if (floor == Floor::kSaliencyLowRes) {
      const auto logits =
          augment::in_eval_mode(*model, [model](const at::Tensor& x) { return model->forward(x); });
      const auto options =
          augment::SaliencyOptions().mean(mean).std(stdev).method(augment::SaliencyMethod::kLowRes);
      return [=] { augment::saliency_map(logits, pixels, labels, options); };
    }
    if (floor == Floor::kPolicy) {
      const auto setup =
          train::recipe_policy_setup(root, {pixels.size(1), pixels.size(2), pixels.size(3)},
                                     model->num_classes(), at::kCPU, model);
      auto policies = std::make_shared<std::vector<std::unique_ptr<augment::BatchPolicy>>>(
          augment::make_policies(root.components("policies"), setup));
      auto step = std::make_shared<std::int64_t>(0);
      return [=] {
        augment::PolicyBatch pb{pixels.clone(), labels, model->num_classes()};
        augment::StepContext context{augment::step_generator(0, 0, *step), 0, *step, model};
        ++*step;
        for (auto& p : *policies)
          p->apply(pb, context);
      };
    }
    const at::Tensor x = (pixels - 0.5) / 0.25;
    if (floor == Floor::kSubMasked) {
      auto generator = std::make_shared<at::Generator>(augment::step_generator(0, 0, 0));
      return [=] {
        const at::Tensor mask =
            objective::random_cell_mask(x.size(0), x.size(2), x.size(3), 4, 0.5, *generator);
        at::cross_entropy_loss(model->forward(x * (1 - mask)), labels).backward();
        model->zero_grad();
      };
    }
    const std::int64_t tokens = dynamic_cast<models::ViTImpl&>(*model).num_patches();
    auto generator = std::make_shared<at::Generator>(augment::step_generator(0, 0, 0));
    return [=] {
      models::ForwardOptions options;
      options.keep_tokens = objective::random_kept_tokens(x.size(0), tokens, 0.5, *generator);
      at::cross_entropy_loss(model->forward_with(x, options).logits, labels).backward();
      model->zero_grad();
    };
  }

  void augment_section() {
    const auto& cifar = batches(kCifar, 128);
    struct Case {
      std::string name, policy, python;
    };
    const std::vector<Case> cases = {
        {"RandAugment (2 ops, magnitude 9, nearest)",
         "{name: randaugment, num_ops: 2, magnitude: 9, magnitude_std: 0, prob: 1.0, "
         "interpolation: nearest}",
         "randaugment"},
        {"AutoAugment (CIFAR-10 policy)", "{name: autoaugment, policy: cifar10}", "autoaugment"},
    };
    for (const auto& c : cases) {
      const auto cfg = recipe(kCifar, {"policies=[" + c.policy + "]"});
      const auto setup = train::recipe_policy_setup(cfg.root(), {3, 32, 32}, 10, at::kCPU, nullptr);
      auto policies = augment::make_policies(cfg.root().components("policies"), setup);
      for (const int workers : {1, 2}) {
        configure_threads(workers);
        std::int64_t images = 0, step = 0;
        const auto t0 = Clock::now();
        while (since(t0) < seconds_) {
          const data::Batch& b = cifar[static_cast<std::size_t>(step % cifar.size())];
          augment::PolicyBatch pb{b.images.to(at::kFloat).div_(255.0), b.labels, 10};
          augment::StepContext context{augment::step_generator(0, 0, step), 0, step, nullptr};
          policies.front()->apply(pb, context);
          images += b.images.size(0);
          ++step;
        }
        const double ours = static_cast<double>(images) / since(t0);
        configure_threads(threads_);
        Row row{"augment", {{"policy", c.name}}, {}};
        row.numbers["workers"] = workers;
        row.numbers["batch"] = 128;
        row.numbers["augcore_images_per_s"] = ours;
        const auto theirs = python(
            fmt::format("augment --policy {} --root {} --workers {} --batch 128 --seconds {}",
                        c.python, work("cifar"), workers, seconds_));
        if (theirs && theirs->count("images_per_s")) {
          row.numbers["torch_images_per_s"] = theirs->at("images_per_s");
          row.numbers["ratio"] = ours / theirs->at("images_per_s");
        }
        print(row, "augment " + c.python + " workers " + std::to_string(workers));
        report_.rows.push_back(std::move(row));
      }
    }
  }

  // `augcore_bench data-parallel` on 1 and 2 processes of 1 thread each (Gloo over 127.0.0.1),
  // for the same global batch: each process trains on half of it.
  void data_parallel_section() {
    struct Case {
      std::string model;
      std::vector<std::string> sets;
    };
    const std::vector<Case> cases = {
        {"resnet20", {}},
        {"vit (6×128, patch 7)",
         {"model={name: vit, patch_size: 7, embed_dim: 128, depth: 6, num_heads: 4}", kAdamW,
          kAdamWLr}},
    };
    const std::int64_t steps = o_.quick ? 2 : 12;
    for (const auto& c : cases) {
      std::vector<std::string> sets = c.sets;
      sets.push_back("data.loader.batch_size=128");
      sets.push_back("threads=1");
      const std::string path = work("data_parallel.yaml");
      write_file_atomic(path, recipe(kFashion, sets).to_yaml());
      double one = 0;
      for (const int n : {1, 2}) {
        const auto figures = data_parallel_run(path, n, steps);
        Row row{"data_parallel", {{"model", c.model}}, {}};
        row.numbers["processes"] = n;
        row.numbers["batch"] = 128;
        if (figures) {
          row.numbers["ms_per_step"] = figures->at("ms_per_step");
          row.numbers["images_per_s"] = figures->at("images_per_s");
          row.numbers["allreduce_ms"] = figures->at("allreduce_ms");
          row.numbers["allreduce_share"] = figures->at("allreduce_ms") / figures->at("ms_per_step");
          if (n == 1) one = figures->at("images_per_s");
          if (one > 0) row.numbers["speedup"] = figures->at("images_per_s") / one;
        }
        print(row, fmt::format("data parallel {} on {} process(es)", c.model, n));
        report_.rows.push_back(std::move(row));
      }
    }
  }

  std::optional<Numbers> data_parallel_run(const std::string& recipe_path, int processes,
                                           std::int64_t steps) const {
    const std::string command =
        fmt::format("'{}' data-parallel --nproc {} -c '{}' --steps {} 2>&1",
                    fs::read_symlink("/proc/self/exe").string(), processes, recipe_path, steps);
    const auto printed = output_of(command, "data-parallel run");
    if (!printed) return std::nullopt;
    const std::string& out = *printed;
    const auto at = out.find("figures: ");
    if (at == std::string::npos) return std::nullopt;
    std::istringstream line(out.substr(at + 9, out.find('\n', at) - at - 9));
    Numbers numbers;
    std::string item;
    while (line >> item) {
      const auto eq = item.find('=');
      if (eq != std::string::npos) numbers[item.substr(0, eq)] = std::stod(item.substr(eq + 1));
    }
    if (!numbers.count("ms_per_step") || !numbers.count("images_per_s") ||
        !numbers.count("allreduce_ms")) {
      return std::nullopt;
    }
    return numbers;
  }

  void gpu_section() {
    const std::vector<std::pair<std::string, std::string>> planned = {
        {"resnet50", "none"},
        {"resnet50", "mra (MAE-Mini)"},
        {"resnet50", "keep_cutmix (low_res)"},
        {"vit_small_patch16_224", "masksub"}};
    if (!compat::cuda_available()) {
      for (const auto& [model, policy] : planned)
        report_.rows.push_back(
            Row{"gpu", {{"gpu", "no GPU here"}, {"model", model}, {"policy", policy}}, {}});
      return;
    }
    gpu_measure();
  }

  void gpu_measure();

  std::vector<Target> targets() const;

  SuiteOptions o_;
  Report report_;
  std::map<std::string, std::vector<data::Batch>> batches_;
  int threads_ = 1;
  bool compile_ = false;  // the Python reference has torch.compile
  double seconds_ = 3.0;
  // A 224-px step is slow and noisier between rounds: one step per round, more rounds.
  std::int64_t rounds_ = 9, steps_ = 2, warmup_ = 2, big_rounds_ = 15, big_steps_ = 1,
               big_batch_ = 8, small_batch_ = 128, cifar_batch_ = 32;
};

void Suite::gpu_measure() {
  const std::int64_t batch = o_.quick ? 8 : 128;
  const std::vector<std::string> gpu = {"device=cuda", "train.amp=bf16", "train.channels_last=true",
                                        fmt::format("data.loader.batch_size={}", batch)};
  const auto& jpeg = batches(kJpeg, batch);
  const std::string name = compat::cuda_device_name();
  struct Case {
    std::string model, policy;
    std::vector<std::string> sets;
  };
  const std::vector<std::vector<Case>> groups = {
      {{"resnet50", "none", {}},
       {"resnet50",
        "mra (MAE-Mini)",
        {fmt::format("policies=[{{name: mra, checkpoint: {}, preset: mae_mini}}]",
                     work("mae_mini.pt"))}},
       {"resnet50",
        "keep_cutmix (low_res)",
        {"policies=[{name: keep_cutmix, alpha: 1.0, saliency: low_res}]"}}},
      {{"vit_small_patch16_224", "none", {"model={name: vit_small_patch16_224}", kAdamW, kAdamWLr}},
       {"vit_small_patch16_224",
        "masksub",
        {"model={name: vit_small_patch16_224}", kAdamW, kAdamWLr,
         "objective={name: masksub, ratio: 0.5}"}}},
  };
  for (const auto& group : groups) {
    std::vector<std::unique_ptr<StepBench>> benches;
    std::vector<Rotation::Timed> timed;
    for (const auto& c : group) {
      std::vector<std::string> sets = gpu;
      sets.insert(sets.end(), c.sets.begin(), c.sets.end());
      benches.push_back(std::make_unique<StepBench>(recipe(kJpeg, sets), jpeg));
      benches.back()->run(warmup_ + 3);
      timed.push_back(Rotation::of(*benches.back()));
    }
    const Rotation rotation(timed, rounds_, o_.quick ? 1 : 10);
    std::optional<Numbers> theirs;
    if (group.front().model == "resnet50") {
      theirs =
          python(fmt::format("step --model resnet50 --image 224 --classes 4 --weight-decay 1e-4 "
                             "--batch {} --steps {} --warmup {} "
                             "--device cuda --amp bf16 --channels-last",
                             batch, o_.quick ? 2 : 30, 5));
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
      Row row{"gpu", {{"gpu", name}, {"model", group[i].model}, {"policy", group[i].policy}}, {}};
      row.numbers["batch"] = static_cast<double>(batch);
      row.numbers["augcore_images_per_s"] = static_cast<double>(batch) / *rotation.seconds(i);
      put(row.numbers, "ratio_baseline", *rotation.ratio(i, 0));
      if (i == 0 && theirs && theirs->count("images_per_s")) {
        row.numbers["torch_images_per_s"] = theirs->at("images_per_s");
        row.numbers["ratio"] = row.numbers["augcore_images_per_s"] / theirs->at("images_per_s");
      }
      print(row, "gpu " + group[i].model + " " + group[i].policy);
      report_.rows.push_back(std::move(row));
    }
  }
}

// A target's figure: a ratio with its interval (none where it was measured once), and its
// text as the tables print it.
struct Figure {
  std::string label;
  std::optional<double> value, low, high;
  std::string text;
};

Figure figure_of(const Row& r, const std::string& key, std::string label) {
  return {std::move(label), r.number(key), r.number(key + "_low"), r.number(key + "_high"),
          ratio_text(r, key)};
}

// A figure against a monotone target: met when its whole interval passes, missed when none of
// it does, undecided when the interval holds the target.
Verdict verdict_of(const Figure& f, const std::function<bool(double)>& pass) {
  if (!f.value) return Verdict::kNotMeasured;
  const bool low = pass(f.low.value_or(*f.value)), high = pass(f.high.value_or(*f.value));
  if (low && high) return Verdict::kMet;
  return !low && !high ? Verdict::kMissed : Verdict::kUndecided;
}

std::vector<Target> Suite::targets() const {
  auto find = [&](const std::string& section, const std::map<std::string, std::string>& match) {
    std::vector<const Row*> rows;
    for (const auto& r : report_.rows) {
      bool ok = r.section == section;
      for (const auto& [k, v] : match)
        ok = ok && r.str(k) == v;
      if (ok) rows.push_back(&r);
    }
    return rows;
  };
  // Missed when any figure misses, undecided when none misses but one is undecided.
  auto target = [](const std::string& what, const std::vector<Figure>& figures,
                   const std::function<bool(double)>& pass) {
    Target t{what, "", Verdict::kNotMeasured, false};
    bool missed = false, undecided = false;
    for (const Figure& f : figures) {
      if (!f.value) continue;
      t.measured += fmt::format("{}{} ({})", t.measured.empty() ? "" : ", ", f.text, f.label);
      missed = missed || verdict_of(f, pass) == Verdict::kMissed;
      undecided = undecided || verdict_of(f, pass) == Verdict::kUndecided;
    }
    if (t.measured.empty())
      t.measured = "not measured";
    else
      t.verdict = missed ? Verdict::kMissed : undecided ? Verdict::kUndecided : Verdict::kMet;
    return t;
  };
  const auto at_least = [](double target) { return [target](double v) { return v >= target; }; };
  const auto at_most = [](double target) { return [target](double v) { return v <= target; }; };
  std::vector<Target> out;
  std::vector<Figure> figures;
  for (const Row* r : find("step", {}))
    figures.push_back(figure_of(*r, "ratio", r->str("model")));
  out.push_back(target("CPU training step ≥ 1.0× Python PyTorch eager", figures, at_least(1.0)));
  figures.clear();
  for (const Row* r : find("gpu", {{"policy", "none"}, {"model", "resnet50"}}))
    figures.push_back(figure_of(*r, "ratio", "resnet50 bf16"));
  out.push_back(target("GPU training step ≥ 1.0× Python PyTorch eager", figures, at_least(1.0)));
  figures.clear();
  for (const Row* r : find("loader", {})) {
    if (r->str("transforms").find("RandomResized") != std::string::npos) {
      figures.push_back(
          figure_of(*r, "ratio", fmt::format("{:.0f} worker(s)", *r->number("workers"))));
    }
  }
  out.push_back(
      target("JPEG ImageFolder loader ≥ 2× torchvision per worker", figures, at_least(2.0)));
  // The CPU figures of overhead rows, each labelled with its floor (its essential pass alone);
  // true when some figure is not met and every one that is not has a floor that misses.
  auto with_floors = [&](const std::vector<const Row*>& rows,
                         const std::function<std::string(const Row*)>& label,
                         const std::string& key, const std::function<bool(double)>& pass) {
    figures.clear();
    bool short_of = false, blocked = true;
    for (const Row* r : rows) {
      const auto floors = find("floor", {{"model", r->str("model")},
                                         {"policy", r->str("policy")},
                                         {"settings", r->str("settings")}});
      std::optional<Figure> floor;
      if (!floors.empty() && floors.front()->number("floor"))
        floor = figure_of(*floors.front(), "floor", "floor");
      figures.push_back(figure_of(*r, key, label(r) + (floor ? "; floor " + floor->text : "")));
      if (figures.back().value && verdict_of(figures.back(), pass) != Verdict::kMet) {
        short_of = true;
        blocked = blocked && floor && verdict_of(*floor, pass) == Verdict::kMissed;
      }
    }
    return short_of && blocked;
  };
  // GPU figures have no floor: one that is not met leaves the verdict the figures' own.
  auto gpu_figures = [&](const std::vector<const Row*>& rows, const std::string& prefix,
                         const std::function<bool(double)>& pass) {
    bool short_of = false;
    for (const Row* r : rows) {
      figures.push_back(figure_of(*r, "ratio_baseline", prefix + r->str("model")));
      short_of =
          short_of || (figures.back().value && verdict_of(figures.back(), pass) != Verdict::kMet);
    }
    return short_of;
  };
  auto add = [&](const std::string& what, bool blocked, bool gpu_short,
                 const std::function<bool(double)>& pass) {
    out.push_back(target(what, figures, pass));
    out.back().floor_above = out.back().verdict != Verdict::kMet && blocked && !gpu_short;
  };
  const bool mra = with_floors(
      find("overhead", {{"model", "resnet50"}, {"policy", "mra"}}),
      [](const Row*) { return std::string("CPU"); }, "ratio", at_most(1.2));
  const bool mra_gpu =
      gpu_figures(find("gpu", {{"policy", "mra (MAE-Mini)"}}), "GPU ", at_most(1.2));
  add("mra (MAE-Mini, 224 px) ≤ 1.2× the ResNet-50 step", mra, mra_gpu, at_most(1.2));
  const bool keep = with_floors(
      find("overhead", {{"policy", "keep_cutout"}, {"settings", "low_res saliency"}}),
      [](const Row* r) { return r->str("model"); }, "ratio_to_cutout", at_most(1.10));
  add("keep_cutout low_res ≤ 1.10× cutout", keep, false, at_most(1.10));
  std::vector<const Row*> vits;
  for (const Row* r : find("overhead", {{"policy", "masksub"}})) {
    if (r->str("model").rfind("vit", 0) == 0) vits.push_back(r);
  }
  const bool masksub = with_floors(
      vits, [](const Row* r) { return r->str("model"); }, "ratio", at_most(1.45));
  const bool masksub_gpu = gpu_figures(find("gpu", {{"policy", "masksub"}}), "GPU ", at_most(1.45));
  add("masksub ViT ≤ 1.45× the ViT step", masksub, masksub_gpu, at_most(1.45));
  return out;
}

}  // namespace

int run_suite(const SuiteOptions& options) {
  // A Python reference that died must not take the suite with it when written to.
  std::signal(SIGPIPE, SIG_IGN);
  const Report report = Suite(options).run();
  for (const auto& path : {options.json, options.markdown}) {
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  }
  // The other toolchains' reports stay as they were; an unreadable file is replaced.
  std::vector<Report> reports;
  if (fs::exists(options.json)) {
    std::ifstream in(options.json);
    std::stringstream text;
    text << in.rdbuf();
    try {
      reports = from_json(text.str());
    } catch (const std::exception& e) {
      fmt::print("suite: {} is not a benchmark report ({}); writing it afresh\n", options.json,
                 e.what());
    }
  }
  reports = merge(std::move(reports), report);
  write_file_atomic(options.json, to_json(reports));
  write_file_atomic(options.markdown, to_markdown(reports));
  fmt::print("suite: {:.0f} s; wrote {} and {}\n", report.seconds, options.markdown, options.json);
  return 0;
}

}  // namespace augcore::bench

#include "augcore/train/tasks/recipe.h"

#include "augcore/core/error.h"
#include "augcore/data/pipeline.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/objective/objective_registry.h"
#include "augcore/train/loop/data_parallel.h"
#include "augcore/train/tasks/semi_supervised.h"

namespace augcore::train {

void add_step_keys(config::Schema& train) {
  config::Schema ema;
  ema.add_bool("enabled", false, "keep an exponential moving average of the weights");
  ema.add_float("decay", 0.9998, "EMA decay per optimizer step").range(0, 1);
  train.add_float("grad_clip", 0.0, "clip the global gradient norm to this; 0 = off").range(0, 1e9);
  train.add_int("accum_steps", 1, "batches per optimizer step (gradient accumulation)")
      .range(1, 4096);
  train.add_section("ema", ema, "weight EMA");
  train.add_choice("amp", "none", {"none", "bf16", "fp16"},
                   "mixed precision on CUDA (fp16 with dynamic loss scaling)");
  train.add_bool("channels_last", false, "channels-last memory format on CUDA");
}

AmpMode amp_mode(const config::Options& train) {
  const std::string amp = train.string("amp");
  return amp == "fp16" ? AmpMode::kFp16 : amp == "bf16" ? AmpMode::kBf16 : AmpMode::kNone;
}

void add_output_keys(config::Schema& train) {
  train
      .add_int("checkpoint_every_steps", 0,
               "also write last.pt every N optimizer steps (0: at epoch ends only)")
      .range(0, 1 << 30);
  train.add_bool("step_log", false, "write every step's loss and lr to steps.jsonl");
  train.add_bool("tensorboard", true,
                 "mirror metrics.jsonl and steps.jsonl into TensorBoard event files");
  train.add_bool("deterministic", false,
                 "deterministic kernels only (cuDNN, cuBLAS, scatter): CUDA runs then resume "
                 "bitwise, more slowly; CPU runs are deterministic either way");
}

void add_run_keys(config::Schema& root) {
  root.add_int("seed", 0, "seed of every random stream (loader, transforms, policies)")
      .range(0, 9.0e15);
  root.add_int("threads", 0, "intra-op CPU threads; 0 = one per core").range(0, 1024);
  root.add_bool("flush_denormal", true,
                "flush subnormal floats to zero on CPU (much faster attention)");
  root.add_bool("retain_freed_memory", true,
                "keep freed CPU memory for the next step instead of faulting it in again "
                "(glibc malloc)");
  root.add_string("device", "auto", "auto | cpu | cuda | cuda:N");
  root.add_string("output", "", "run directory; empty = runs/<config file name>");
}

config::Schema recipe_schema() {
  config::Schema train;
  train.add_int("epochs", 5, "passes over the training set").range(1, 1000000);
  train.add_float("lr", 0.1, "base learning rate").range(0, 100);
  train.add_bool("scale_lr", false, "use lr x batch_size / 256 (batch per step, all processes)");
  add_step_keys(train);
  train.add_int("log_every", 50, "steps between progress lines when not on a terminal")
      .range(1, 1 << 30);
  train
      .add_int("eval_every", 1,
               "validate every N epochs (and after the last); best.pt is chosen among those")
      .range(1, 1000000);
  train.add_bool("eval_ema", true, "also evaluate the EMA weights when EMA is on");
  train.add_bool("shot_accuracy", false,
                 "also report many-shot (>100 training images), medium (20-100) and few-shot "
                 "(<20) classes' accuracy, as long-tail papers do");
  add_output_keys(train);

  config::Schema s;
  add_run_keys(s);
  s.add_section("data", data::data_schema(), "datasets, transforms and loader");
  s.add_component_list("policies", "policy",
                       "batch policies applied in order on the device (e.g. mra)");
  s.add_component("model", "model", "resnet20", "the classifier");
  s.add_section("loss", objective::criterion_schema(), "the criterion");
  s.add_component("objective", "objective", "standard", "how the loss is computed");
  s.add_component("optimizer", "optimizer", "sgd", "the optimizer");
  s.add_component("schedule", "schedule", "cosine", "the learning-rate schedule");
  s.add_section("train", train, "training loop");
  s.add_section("semi", semi_schema(), "semi-supervised training (FixMatch, UDA)");
  s.add_section("dist", dist_schema(), "data-parallel training over several processes");
  return s;
}

std::shared_ptr<models::ClassifierImpl> recipe_classifier(const config::Options& root,
                                                          const std::array<std::int64_t, 3>& shape,
                                                          std::int64_t num_classes,
                                                          const c10::IValue& weights,
                                                          const std::string& path) {
  auto model = models::make_model(root.component("model"), {shape[0], num_classes, shape[1]});
  if (!weights.isNone()) {
    const auto report =
        models::load_state_dict(*model, models::find_state_dict(weights, path), true);
    if (!report.ok()) throw DataError(path + ": does not fit the model: " + report.describe());
  }
  return model;
}

augment::PolicySetup recipe_policy_setup(const config::Options& root,
                                         const std::array<std::int64_t, 3>& shape,
                                         std::int64_t num_classes, at::Device device,
                                         models::ClassifierImpl* model) {
  augment::PolicySetup setup;
  setup.device = device;
  setup.channels = shape[0];
  setup.height = shape[1];
  setup.width = shape[2];
  setup.num_classes = num_classes;
  setup.mean = root.section("data").reals("mean");
  setup.std = root.section("data").reals("std");
  setup.label_smoothing = root.section("loss").real("label_smoothing");
  setup.model = model;
  return setup;
}

}  // namespace augcore::train

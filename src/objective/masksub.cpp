#include "augcore/objective/masksub.h"

#include <ATen/ATen.h>

#include <cmath>

#include "augcore/core/error.h"
#include "augcore/models/vit.h"
#include "augcore/objective/objective.h"

namespace augcore::objective {

at::Tensor random_kept_tokens(std::int64_t n, std::int64_t patches, double ratio,
                              at::Generator& generator) {
  const auto keep =
      static_cast<std::int64_t>(std::floor(static_cast<double>(patches) * (1 - ratio)));
  return at::rand({n, patches}, generator).argsort(1, false).narrow(1, 0, keep);
}

at::Tensor random_cell_mask(std::int64_t n, std::int64_t height, std::int64_t width,
                            std::int64_t cell, double ratio, at::Generator& generator) {
  const auto gh = height / cell, gw = width / cell, cells = gh * gw;
  const auto masked = static_cast<std::int64_t>(std::floor(static_cast<double>(cells) * ratio));
  const at::Tensor chosen = at::rand({n, cells}, generator).argsort(1, false).narrow(1, 0, masked);
  const at::Tensor grid = at::zeros({n, cells}).scatter_(1, chosen, 1.0).view({n, 1, gh, gw});
  return grid.repeat_interleave(cell, 2).repeat_interleave(cell, 3);
}

namespace {

enum class Variant { kMask, kDropout, kDropPath };

struct MaskSubOptions {
  double ratio = 0.5;
  Variant variant = Variant::kMask;
  double weight_main = 0.5, weight_sub = 0.5;
  bool split = false;
  std::int64_t cell = 32;
  double early_weight = 0.3;
};

class MaskSub : public Objective {
 public:
  MaskSub(Criterion criterion, MaskSubOptions o, std::string path)
      : criterion_(std::move(criterion)), o_(o), path_(std::move(path)) {}

  void check(const models::ClassifierImpl& model, std::int64_t height,
             std::int64_t width) const override {
    const bool vit = dynamic_cast<const models::ViTImpl*>(&model) != nullptr;
    if (o_.variant != Variant::kMask && !vit) {
      throw ConfigError(path_ + ".variant: dropout and droppath sub-models need a ViT model");
    }
    if (o_.variant == Variant::kMask && !vit && (height % o_.cell != 0 || width % o_.cell != 0)) {
      throw ConfigError(path_ + ".cell: " + std::to_string(o_.cell) + "-pixel cells do not tile " +
                        std::to_string(height) + "x" + std::to_string(width) + " images");
    }
  }

  ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets, ObjectiveContext& context) override {
    ObjectiveResult main = main_pass(model, images, targets, criterion_, o_.early_weight);
    // The sub-model learns the main model's predictions; no gradient flows into them.
    const at::Tensor soft = criterion_.probabilities(main.logits.detach());
    at::Tensor main_part = o_.weight_main * main.loss;
    if (o_.split) context.backward(main_part);  // frees the main graph before the sub pass
    const at::Tensor sub_logits = sub_forward(model, images, context.generator);
    const at::Tensor sub_loss = criterion_(sub_logits, soft);
    ObjectiveResult r;
    r.logits = main.logits;
    r.metrics = std::move(main.metrics);
    r.metrics["train_loss_main"] = main.loss.detach();
    r.metrics["train_loss_sub"] = sub_loss.detach();
    const at::Tensor sub_part = o_.weight_sub * sub_loss;
    if (o_.split) {
      r.loss = main_part.detach() + sub_part.detach();
      r.backward_loss = sub_part;
    } else {
      r.loss = main_part + sub_part;
    }
    return r;
  }

 private:
  at::Tensor sub_forward(models::ClassifierImpl& model, const at::Tensor& images,
                         at::Generator& generator) const {
    auto* vit = dynamic_cast<models::ViTImpl*>(&model);
    models::ForwardOptions options;
    switch (o_.variant) {
      case Variant::kDropout:
        options.dropout = o_.ratio;
        return model.forward_with(images, options).logits;
      case Variant::kDropPath:
        options.drop_path = o_.ratio;
        return model.forward_with(images, options).logits;
      case Variant::kMask:
        break;
    }
    const auto n = images.size(0);
    if (vit != nullptr) {
      options.keep_tokens =
          random_kept_tokens(n, vit->num_patches(), o_.ratio, generator).to(images.device());
      return model.forward_with(images, options).logits;
    }
    const at::Tensor mask =
        random_cell_mask(n, images.size(2), images.size(3), o_.cell, o_.ratio, generator)
            .to(images.device(), images.scalar_type());
    return model.forward(images * (1 - mask));  // zero = the mean, in normalised space
  }

  Criterion criterion_;
  MaskSubOptions o_;
  std::string path_;
};

config::Schema masksub_options() {
  config::Schema s;
  s.add_float("ratio", 0.5, "mask ratio r of the sub pass (dropout/drop-path rate for those)")
      .range(0, 0.99);
  s.add_choice("variant", "mask", {"mask", "dropout", "droppath"},
               "the sub pass: masked input (MaskSub), dropout (DropSub) or drop-path (PathSub)");
  s.add_float("weight_main", 0.5, "weight of the main loss").range(0, 100);
  s.add_float("weight_sub", 0.5, "weight of the sub-model's loss").range(0, 100);
  s.add_choice("backward", "joint", {"joint", "split"},
               "one backward of the sum, or two (main, then sub) to save memory");
  s.add_int("cell", 32, "CNN masking: side of the square cells in pixels (must tile the input)")
      .range(1, 4096);
  s.add_float("early_head_weight", 0.3, "weight of the early head's loss when the model has one")
      .range(0, 100);
  return s;
}

const bool registered = config::register_component(
    "objective", "masksub",
    "main loss + a masked sub-model (shared weights) trained toward the main predictions",
    masksub_options(),
    ObjectiveFactory([](const config::Options& o, Criterion c) -> std::unique_ptr<Objective> {
      MaskSubOptions m;
      m.ratio = o.real("ratio");
      const std::string v = o.string("variant");
      m.variant = v == "dropout"    ? Variant::kDropout
                  : v == "droppath" ? Variant::kDropPath
                                    : Variant::kMask;
      m.weight_main = o.real("weight_main");
      m.weight_sub = o.real("weight_sub");
      m.split = o.string("backward") == "split";
      m.cell = o.integer("cell");
      m.early_weight = o.real("early_head_weight");
      return std::make_unique<MaskSub>(std::move(c), m, o.path());
    }));

}  // namespace
}  // namespace augcore::objective

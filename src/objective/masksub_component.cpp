// The registered `masksub` objective: recipe options turned into the library's MaskSub, run
// around augcore's classifiers (the ViT's token-drop and rate passes, the early head's loss).
#include <ATen/ATen.h>

#include "augcore/core/error.h"
#include "augcore/models/swin.h"
#include "augcore/models/vit.h"
#include "augcore/objective/masksub.h"
#include "augcore/objective/objective_registry.h"

namespace augcore::objective {
namespace {

// How `model` serves MaskSub: its forward, and a ViT's token-drop and rate passes.
MaskSubModel sub_model(models::ClassifierImpl& model, MaskSubVariant variant) {
  MaskSubModel m;
  m.forward = [&model](const at::Tensor& x) { return model.forward(x); };
  if (auto* swin = dynamic_cast<models::SwinImpl*>(&model)) {
    std::tie(m.mask_rows, m.mask_cols) = swin->mask_grid();
    m.token_mask_forward = [&model](const at::Tensor& x, const at::Tensor& masked) {
      models::ForwardOptions options;
      options.masked_units = masked;
      return model.forward_with(x, options).logits;
    };
    return m;
  }
  auto* vit = dynamic_cast<models::ViTImpl*>(&model);
  if (vit == nullptr) return m;
  m.num_patches = vit->num_patches();
  m.kept_forward = [&model](const at::Tensor& x, const at::Tensor& keep) {
    models::ForwardOptions options;
    options.keep_tokens = keep;
    return model.forward_with(x, options).logits;
  };
  m.rate_forward = [&model, variant](const at::Tensor& x, double rate) {
    models::ForwardOptions options;
    if (variant == MaskSubVariant::kDropPath) {
      options.drop_path = rate;
    } else {
      options.dropout = rate;
    }
    return model.forward_with(x, options).logits;
  };
  return m;
}

class MaskSubObjective : public Objective {
 public:
  MaskSubObjective(Criterion criterion, MaskSubOptions options, bool split, double early_weight,
                   std::string path)
      : criterion_(criterion),
        masksub_(options, criterion,
                 [criterion](const at::Tensor& z) { return criterion.probabilities(z); }),
        split_(split),
        early_weight_(early_weight),
        path_(std::move(path)) {}

  void check(const models::ClassifierImpl& model, std::int64_t height,
             std::int64_t width) const override {
    const bool vit = dynamic_cast<const models::ViTImpl*>(&model) != nullptr;
    const auto& o = masksub_.options();
    if (o.variant() != MaskSubVariant::kMask && !vit) {
      throw ConfigError(path_ + ".variant: dropout and droppath sub-models need a ViT model");
    }
    const auto* swin = dynamic_cast<const models::SwinImpl*>(&model);
    if (swin != nullptr && o.variant() == MaskSubVariant::kMask && !swin->config().mask_token) {
      throw ConfigError("model.mask_token: MaskSub's Swin sub pass needs `mask_token: true`");
    }
    if (o.variant() == MaskSubVariant::kMask && !vit && swin == nullptr &&
        (height % o.cell() != 0 || width % o.cell() != 0)) {
      throw ConfigError(path_ + ".cell: " + std::to_string(o.cell()) + "-pixel cells do not tile " +
                        std::to_string(height) + "x" + std::to_string(width) + " images");
    }
  }

  ObjectiveResult compute(models::ClassifierImpl& model, const at::Tensor& images,
                          const at::Tensor& targets, ObjectiveContext& context) override {
    ObjectiveResult main = main_pass(model, images, targets, criterion_, early_weight_);
    const MaskSubLoss r = masksub_.after_main(sub_model(model, masksub_.options().variant()),
                                              images, main.logits, main.loss, context.generator,
                                              split_ ? context.backward : MaskSub::Backward());
    ObjectiveResult out;
    out.logits = r.logits;
    out.metrics = std::move(main.metrics);
    out.metrics["train_loss_main"] = r.main_loss;
    out.metrics["train_loss_sub"] = r.sub_loss;
    out.loss = r.loss;
    if (split_) out.backward_loss = r.to_backward;
    return out;
  }

 private:
  Criterion criterion_;
  MaskSub masksub_;
  bool split_;
  double early_weight_;
  std::string path_;
};

config::Schema masksub_schema() {
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
    masksub_schema(),
    ObjectiveFactory([](const config::Options& o, Criterion c) -> std::unique_ptr<Objective> {
      const std::string v = o.string("variant");
      const MaskSubOptions options = MaskSubOptions()
                                         .ratio(o.real("ratio"))
                                         .variant(v == "dropout"    ? MaskSubVariant::kDropout
                                                  : v == "droppath" ? MaskSubVariant::kDropPath
                                                                    : MaskSubVariant::kMask)
                                         .weight_main(o.real("weight_main"))
                                         .weight_sub(o.real("weight_sub"))
                                         .cell(o.integer("cell"));
      try {
        return std::make_unique<MaskSubObjective>(std::move(c), options,
                                                  o.string("backward") == "split",
                                                  o.real("early_head_weight"), o.path());
      } catch (const OptionError& e) {
        throw ConfigError(o.path() + "." + e.option() + ": " + e.reason());
      }
    }));

}  // namespace
}  // namespace augcore::objective

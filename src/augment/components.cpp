// The registered `policy` components: recipe options turned into the library's policies
// (augcore/augcore.h), which do all the work.
#include <ATen/ATen.h>

#include <fmt/core.h>

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/cutout.h"
#include "augcore/augment/mix.h"
#include "augcore/augment/mra.h"
#include "augcore/augment/policy_registry.h"
#include "augcore/augment/random_erasing.h"
#include "augcore/augment/three_augment.h"
#include "augcore/core/error.h"
#include "augcore/core/fingerprint.h"

namespace augcore::augment {

namespace {

// Builds with `make`, reporting the library's option errors under the recipe's key.
template <typename Make>
std::unique_ptr<BatchPolicy> at_path(const config::Options& o, Make make) {
  try {
    return make();
  } catch (const OptionError& e) {
    throw ConfigError(o.path() + "." + e.option() + ": " + e.reason());
  }
}

template <typename Policy>
std::unique_ptr<BatchPolicy> adapt(Policy policy, std::string identity = {}) {
  return std::make_unique<LibraryPolicy<Policy>>(std::move(policy), std::move(identity));
}

std::pair<double, double> pair_of(const config::Options& o, const std::string& key) {
  const auto v = o.reals(key);
  return {v[0], v[1]};
}

// ---- Cutout and random erasing

config::Schema cutout_schema() {
  config::Schema s;
  s.add_int("length", 16, "side of the square in pixels (16 on 32 px, 112 on 224 px)")
      .range(1, 1 << 16);
  s.add_float("p", 1.0, "probability of cutting each image").range(0, 1);
  s.add_float("max_fraction", 0.0,
              "draw each side uniformly in [0, max_fraction x image side) instead of `length` "
              "(FixMatch/USB's strong view: 0.5); 0 = fixed length")
      .range(0, 1);
  return s;
}

CutoutOptions cutout_options(const config::Options& o, const PolicySetup& setup) {
  return CutoutOptions(o.integer("length"))
      .p(o.real("p"))
      .max_fraction(o.real("max_fraction"))
      .fill(setup.mean);
}

config::Schema random_erasing_schema() {
  config::Schema s;
  s.add_float("p", 0.5, "probability of erasing each image").range(0, 1);
  s.add_floats("area", {0.02, 1.0 / 3.0}, "min and max erased fraction of the image")
      .items(2, 2)
      .range(1e-6, 1);
  s.add_floats("aspect", {0.3, 1.0 / 0.3}, "min and max aspect ratio (h/w) of a box")
      .items(2, 2)
      .range(1e-3, 1e3);
  s.add_choice("mode", "const", {"const", "rand", "pixel"},
               "fill: the mean (0 normalised), N(0,1) per channel, or N(0,1) per pixel "
               "(timm's modes, in normalised units)");
  s.add_ints("count", {1, 1}, "min and max boxes per image").items(2, 2).range(1, 100);
  s.rename("probability", "p");
  return s;
}

RandomErasingOptions random_erasing_options(const config::Options& o, const PolicySetup& setup) {
  const std::string mode = o.string("mode");
  const auto counts = o.integers("count");
  return RandomErasingOptions()
      .p(o.real("p"))
      .area(pair_of(o, "area"))
      .aspect(pair_of(o, "aspect"))
      .mode(mode == "rand"    ? ErasingMode::kRandom
            : mode == "pixel" ? ErasingMode::kPixel
                              : ErasingMode::kConst)
      .count({counts[0], counts[1]})
      .mean(setup.mean)
      .std(setup.std);
}

// ---- Mixing

config::Schema mixup_schema() {
  config::Schema s;
  s.add_float("alpha", 1.0, "lambda ~ Beta(alpha, alpha)").range(1e-6, 1e6);
  s.add_float("p", 1.0, "probability of mixing (per batch, or per image in elem mode)").range(0, 1);
  s.add_choice("mode", "batch", {"batch", "elem"}, "one lambda per batch, or one per image");
  return s;
}

MixupOptions mixup_options(const config::Options& o, const PolicySetup& setup) {
  return MixupOptions(setup.num_classes)
      .alpha(o.real("alpha"))
      .p(o.real("p"))
      .mode(o.string("mode") == "elem" ? MixMode::kElem : MixMode::kBatch)
      .label_smoothing(setup.label_smoothing);
}

config::Schema mix_schema() {
  config::Schema s;
  s.add_float("mixup_alpha", 0.8, "Mixup's Beta parameter (DeiT: 0.8)").range(1e-6, 1e6);
  s.add_float("cutmix_alpha", 1.0, "CutMix's Beta parameter (DeiT: 1.0)").range(1e-6, 1e6);
  s.add_float("switch_prob", 0.5, "probability that a batch uses CutMix rather than Mixup")
      .range(0, 1);
  s.add_float("p", 1.0, "probability of mixing a batch").range(0, 1);
  return s;
}

// ---- The AutoAugment family

void add_op_settings(config::Schema& s, const std::string& interpolation) {
  s.add_choice("interpolation", interpolation, {"nearest", "bilinear"},
               "resampling of the geometric ops");
  s.add_floats("fill", {}, "pixel value(s) for areas a geometric op uncovers; [] = dataset mean")
      .items(0, 64)
      .range(0, 1);
}

ops::Interpolation interpolation_of(const config::Options& o) {
  return o.string("interpolation") == "bilinear" ? ops::Interpolation::kBilinear
                                                 : ops::Interpolation::kNearest;
}

// The `fill` option, else the dataset mean; checked against the images' channels now.
std::vector<double> fill_of(const config::Options& o, const PolicySetup& setup) {
  std::vector<double> fill = o.reals("fill");
  if (fill.empty()) fill = setup.mean;
  if (fill.size() != 1 && static_cast<std::int64_t>(fill.size()) != setup.channels) {
    throw ConfigError(o.path() + ".fill: " + std::to_string(fill.size()) + " values for " +
                      std::to_string(setup.channels) + "-channel images");
  }
  return fill;
}

config::Schema autoaugment_schema() {
  config::Schema s;
  s.add_choice("policy", "imagenet", {"imagenet", "cifar10"}, "which learned policy");
  add_op_settings(s, "nearest");
  return s;
}

AutoAugmentOptions autoaugment_options(const config::Options& o, const PolicySetup& setup) {
  return AutoAugmentOptions()
      .policy(o.string("policy"))
      .interpolation(interpolation_of(o))
      .fill(fill_of(o, setup));
}

config::Schema randaugment_schema() {
  config::Schema s;
  s.add_int("num_ops", 2, "ops per image (N)").range(1, 16);
  s.add_float("magnitude", 9, "magnitude M on timm's 0–10 scale").range(0, 100);
  s.add_float("magnitude_std", 0.5, "std of the Gaussian noise added to M per op (0: none)")
      .range(0, 100);
  s.add_float("magnitude_max", 10, "upper clip of the noisy magnitude").range(0, 100);
  s.add_float("prob", 0.5, "probability of applying each drawn op").range(0, 1);
  s.add_bool("increasing", true, "timm's increasing-severity op variants (rand-…-inc1)");
  add_op_settings(s, "bilinear");
  return s;
}

RandAugmentOptions randaugment_options(const config::Options& o, const PolicySetup& setup) {
  return RandAugmentOptions()
      .num_ops(o.integer("num_ops"))
      .magnitude(o.real("magnitude"))
      .magnitude_std(o.real("magnitude_std"))
      .magnitude_max(o.real("magnitude_max"))
      .prob(o.real("prob"))
      .increasing(o.boolean("increasing"))
      .interpolation(interpolation_of(o))
      .fill(fill_of(o, setup));
}

config::Schema fixmatch_randaugment_schema() {
  config::Schema s;
  s.add_int("num_ops", 3, "ops per image, each always applied (TorchSSL/USB: 3)").range(1, 16);
  add_op_settings(s, "bilinear");
  return s;
}

config::Schema trivialaugment_schema() {
  config::Schema s;
  add_op_settings(s, "nearest");
  return s;
}

// ---- KeepAugment

config::Schema with_keep_options(config::Schema s) {
  s.add_choice("saliency", "full", {"full", "low_res", "early_head"},
               "saliency map: full resolution, ×0.5 resolution, or the model's early head");
  s.add_float("quantile", 0.6, "τ = this quantile of an image's region scores").range(0, 1);
  s.add_choice("region_score", "sum", {"sum", "mean"},
               "a region's score: its saliency sum (the paper; favours boxes clipped at the "
               "border) or its mean over the pixels inside the image");
  return s;
}

config::Schema with_paste_length(config::Schema schema) {
  schema.add_int("paste_length", 16, "side of the clean region pasted back (Cutout's length)")
      .range(1, 1 << 16);
  return schema;
}

SaliencyFn saliency_of(const config::Options& o, const PolicySetup& setup) {
  return classifier_saliency(o.string("saliency"), setup, o.path() + ".saliency");
}

KeepOptions keep_options(const config::Options& o) {
  return KeepOptions().quantile(o.real("quantile")).mean_score(o.string("region_score") == "mean");
}

// ---- MRA

config::Schema mra_schema() {
  config::Schema s;
  s.add_string("checkpoint", "", "MAE checkpoint (mae_pretrain's, or an official MAE .pth)")
      .require();
  s.add_choice("preset", "mae_mini",
               {"mae_mini", "mae_base", "mae_large", "mae_tiny_patch4_28", "mae_tiny_patch4_32"},
               "the checkpoint's architecture");
  s.add_int("in_chans", 3, "channels the augmentor was trained on").range(1, 64);
  s.add_float("mask_ratio", 0.4, "fraction of patches masked (MRA's best for MAE-Mini)")
      .range(0, 0.99);
  s.add_choice("mode", "low", {"low", "high", "random"},
               "mask the low-attention patches (MRA), the high ones, or random ones");
  s.add_choice("attention", "cls", {"cls", "patches"},
               "rank patches by the CLS row of the last block (the paper) or by the attention "
               "the patches pay them, averaged over blocks (docs/mra.md)");
  s.add_float("p", 1.0, "probability of augmenting each image").range(0, 1);
  s.add_bool("paste_visible", true, "kept patches are the original pixels");
  s.add_bool("norm_pix", false, "the checkpoint was trained with norm_pix_loss");
  s.add_floats("mean", {}, "the augmentor's input mean; [] = the checkpoint's, else ImageNet's")
      .items(0, 64);
  s.add_floats("std", {}, "the augmentor's input std; [] = the checkpoint's, else ImageNet's")
      .items(0, 64)
      .range(1e-6, 1e6);
  return s;
}

std::unique_ptr<BatchPolicy> make_mra(const config::Options& o, const PolicySetup& setup) {
  models::MaeConfig c = models::mae_preset(o.string("preset"));
  c.in_chans = o.integer("in_chans");
  const auto p = c.patch_size;
  if (setup.height % p != 0 || setup.width % p != 0) {
    throw ConfigError(o.path() + ".preset: the augmentor's patch size " + std::to_string(p) +
                      " does not divide the " + std::to_string(setup.height) + "x" +
                      std::to_string(setup.width) + " training images");
  }
  if (setup.channels != c.in_chans && !(setup.channels == 1 && c.in_chans == 3)) {
    throw ConfigError(o.path() + ".in_chans: the augmentor takes " + std::to_string(c.in_chans) +
                      " channels, the images have " + std::to_string(setup.channels));
  }
  const std::string mode = o.string("mode");
  const MraOptions options =
      MraOptions()
          .mask_ratio(o.real("mask_ratio"))
          .mode(mode == "high"     ? MaskMode::kHigh
                : mode == "random" ? MaskMode::kRandom
                                   : MaskMode::kLow)
          .attention(o.string("attention") == "cls" ? AttentionReading::kCls
                                                    : AttentionReading::kPatches)
          .p(o.real("p"))
          .paste_visible(o.boolean("paste_visible"))
          .norm_pix(o.boolean("norm_pix"))
          .mean(o.reals("mean"))
          .std(o.reals("std"));
  const std::string path = o.string("checkpoint");
  MraAugmentor augmentor = load_mra_augmentor(path, c, options);
  augmentor->to(setup.device);
  return adapt(std::move(augmentor), path + " " + file_fingerprint(path));
}

// ---- Registration

bool register_policy(
    const std::string& name, const std::string& doc, config::Schema schema,
    std::function<std::unique_ptr<BatchPolicy>(const config::Options&, const PolicySetup&)> make) {
  schema.add_string("label", "",
                    "what tables and previews call this policy (augcore_preview); empty = its "
                    "component name");
  return config::register_component(
      "policy", name, doc, std::move(schema),
      PolicyFactory([make = std::move(make)](const config::Options& o, const PolicySetup& s) {
        return at_path(o, [&] { return make(o, s); });
      }));
}

// The factory of KeepPaste<P>: P's options from `options_of`, then the paste and keep options.
template <typename P>
PolicyFactory keep_paste(typename P::Options (*options_of)(const config::Options&,
                                                           const PolicySetup&)) {
  return [options_of](const config::Options& o, const PolicySetup& s) {
    return adapt(KeepPaste<P>(options_of(o, s), o.integer("paste_length"), saliency_of(o, s),
                              keep_options(o)));
  };
}

// The factory of a selective-cut policy K (KeepCutout, KeepRandomErasing, KeepCutMix): its
// options from `options_of`, then the keep options.
template <typename K, typename Options>
PolicyFactory keep_cut(Options (*options_of)(const config::Options&, const PolicySetup&)) {
  return [options_of](const config::Options& o, const PolicySetup& s) {
    return adapt(K(options_of(o, s), saliency_of(o, s), keep_options(o)));
  };
}

config::Schema three_augment_schema() {
  config::Schema s;
  s.add_float("color_jitter", 0.3, "ColorJitter strength after the choice (DeiT-III: 0.3); 0 = off")
      .range(0, 0.999);
  s.add_floats("blur_sigma", {0.1, 2.0}, "Gaussian blur σ range (DeiT-III's radius range)")
      .items(2, 2)
      .range(1e-3, 100);
  s.add_float("solarize_threshold", 128.0 / 255.0, "pixels at or above this are inverted")
      .range(0, 1);
  return s;
}

const bool registered =
    register_policy(
        "three_augment", "DeiT-III's 3-Augment: grayscale, solarize or blur per image, then jitter",
        three_augment_schema(),
        [](const config::Options& o, const PolicySetup&) {
          const auto sigma = pair_of(o, "blur_sigma");
          if (sigma.first > sigma.second) {
            throw ConfigError(o.path() + ".blur_sigma: [" + config::format_number(sigma.first) +
                              ", " + config::format_number(sigma.second) +
                              "] is not a range (min > max)");
          }
          return at_path(o, [&] {
            return adapt(ThreeAugment(ThreeAugmentOptions()
                                          .color_jitter(o.real("color_jitter"))
                                          .blur_sigma_min(sigma.first)
                                          .blur_sigma_max(sigma.second)
                                          .solarize_threshold(o.real("solarize_threshold"))));
          });
        }) &&
    register_policy("cutout", "erase one square per image (Cutout), fill = the dataset mean",
                    cutout_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(Cutout(cutout_options(o, s)));
                    }) &&
    register_policy("random_erasing", "timm's random erasing (boxes of random area and aspect)",
                    random_erasing_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(RandomErasing(random_erasing_options(o, s)));
                    }) &&
    register_policy("mixup", "Mixup: blend each image and target with its mirror in the batch",
                    mixup_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(Mixup(mixup_options(o, s)));
                    }) &&
    register_policy("cutmix", "CutMix: paste a box of the mirror image, lambda from its area",
                    mixup_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(CutMix(mixup_options(o, s)));
                    }) &&
    register_policy("mix", "per batch, CutMix or Mixup (timm/DeiT's switch)", mix_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(MixupOrCutMix(MixupOrCutMixOptions(s.num_classes)
                                                     .mixup_alpha(o.real("mixup_alpha"))
                                                     .cutmix_alpha(o.real("cutmix_alpha"))
                                                     .switch_prob(o.real("switch_prob"))
                                                     .p(o.real("p"))
                                                     .label_smoothing(s.label_smoothing)));
                    }) &&
    register_policy("autoaugment", "AutoAugment's learned policy (imagenet or cifar10)",
                    autoaugment_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(AutoAugment(autoaugment_options(o, s)));
                    }) &&
    register_policy("randaugment", "RandAugment with timm's op set and magnitudes",
                    randaugment_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(RandAugment(randaugment_options(o, s)));
                    }) &&
    register_policy(
        "trivialaugment", "TrivialAugment (wide): one random op at a random magnitude",
        trivialaugment_schema(),
        [](const config::Options& o, const PolicySetup& s) {
          return adapt(TrivialAugment(
              TrivialAugmentOptions().interpolation(interpolation_of(o)).fill(fill_of(o, s))));
        }) &&
    register_policy("fixmatch_randaugment",
                    "FixMatch's strong RandAugment as TorchSSL/USB draw it: N ops, always "
                    "applied, magnitudes uniform in each op's range",
                    fixmatch_randaugment_schema(),
                    [](const config::Options& o, const PolicySetup& s) {
                      return adapt(FixMatchRandAugment(FixMatchRandAugmentOptions()
                                                           .num_ops(o.integer("num_ops"))
                                                           .interpolation(interpolation_of(o))
                                                           .fill(fill_of(o, s))));
                    }) &&
    register_policy("keep_cutout", "Cutout placed where the image is unimportant (KeepCutout)",
                    with_keep_options(cutout_schema()), keep_cut<KeepCutout>(cutout_options)) &&
    register_policy("keep_random_erasing", "random erasing placed where the image is unimportant",
                    with_keep_options(random_erasing_schema()),
                    keep_cut<KeepRandomErasing>(random_erasing_options)) &&
    register_policy("keep_cutmix",
                    "CutMix whose box lands where the receiving image is unimportant",
                    with_keep_options(mixup_schema()), keep_cut<KeepCutMix>(mixup_options)) &&
    register_policy("keep_autoaugment",
                    "AutoAugment, then an important region of the clean image pasted back",
                    with_keep_options(with_paste_length(autoaugment_schema())),
                    keep_paste<AutoAugment>(autoaugment_options)) &&
    register_policy("keep_randaugment",
                    "RandAugment, then an important region of the clean image pasted back",
                    with_keep_options(with_paste_length(randaugment_schema())),
                    keep_paste<RandAugment>(randaugment_options)) &&
    register_policy("mra", "mask-and-reconstruct with a frozen MAE (low-attention patches)",
                    mra_schema(), make_mra);

}  // namespace
}  // namespace augcore::augment

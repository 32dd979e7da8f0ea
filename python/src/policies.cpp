// Python bindings of the batch policies (Cutout, random erasing, the mixing policies, the
// AutoAugment family, 3-Augment) and of what their sample() calls draw.
#include "policies.h"
#include "augcore/augment/auto_augment.h"
#include "augcore/augment/cutout.h"
#include "augcore/augment/mix.h"
#include "augcore/augment/random_erasing.h"
#include "augcore/augment/three_augment.h"
#include "bindings.h"

namespace augcore::python {

using namespace augment;
using namespace pybind11::literals;

namespace {

constexpr const char* kCallDoc =
    "The batch (float N×C×H×W, pixels in [0,1], any device) augmented; draws from `generator`.";
constexpr const char* kSampleDoc = "What a call on `images` would draw, to replay with apply().";
constexpr const char* kApplyDoc = "`images` augmented as `draw` says (from sample()).";

// __call__, sample and apply of an image policy whose sample() takes the images.
template <typename Policy, typename Draw, typename Class>
void image_policy(Class& c, const char* name) {
  c.def(
       "__call__",
       [name](const Policy& p, const at::Tensor& images, const py::object& generator) {
         at::Generator g = generator_arg(generator, name);
         py::gil_scoped_release release;
         return p(images, g);
       },
       "images"_a, "generator"_a = py::none(), kCallDoc)
      .def(
          "sample",
          [name](const Policy& p, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, name);
            py::gil_scoped_release release;
            return Draw(p.sample(images, g));
          },
          "images"_a, "generator"_a = py::none(), kSampleDoc)
      .def(
          "apply",
          [](const Policy& p, const at::Tensor& images, const Draw& draw) {
            py::gil_scoped_release release;
            return p.apply(images, draw);
          },
          "images"_a, "draw"_a, kApplyDoc);
}

// __call__, sample and apply of a mixing policy over (images, targets); `Sample` draws.
template <typename Policy, typename Draw, typename Class, typename Sample>
void mixing_policy(Class& c, const char* name, Sample sample) {
  c.def(
       "__call__",
       [name](const Policy& p, const at::Tensor& images, const at::Tensor& targets,
              const py::object& generator) {
         at::Generator g = generator_arg(generator, name);
         py::gil_scoped_release release;
         Batch out = p(Batch{images, targets}, g);
         return std::make_pair(out.images, out.targets);
       },
       "images"_a, "targets"_a, "generator"_a = py::none(),
       "(images, soft targets N×K) mixed; targets are int64 labels or N×K probabilities.")
      .def(
          "sample",
          [name, sample](const Policy& p, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, name);
            py::gil_scoped_release release;
            return Draw(sample(p, images, g));
          },
          "images"_a, "generator"_a = py::none(), kSampleDoc)
      .def(
          "apply",
          [](const Policy& p, const at::Tensor& images, const at::Tensor& targets,
             const Draw& draw) {
            py::gil_scoped_release release;
            Batch out = p.apply(Batch{images, targets}, draw);
            return std::make_pair(out.images, out.targets);
          },
          "images"_a, "targets"_a, "draw"_a, "(images, targets) mixed as `draw` says.");
}

}  // namespace

ops::Interpolation interpolation_arg(const std::string& name, const std::string& owner) {
  return enum_arg<ops::Interpolation>(name, owner, "interpolation");
}

CutoutOptions cutout_options(std::int64_t length, double p, double max_fraction,
                             const py::object& fill) {
  return CutoutOptions(length)
      .p(p)
      .max_fraction(max_fraction)
      .fill(values_arg(fill, "CutoutOptions", "fill"));
}

RandomErasingOptions erasing_options(double p, std::pair<double, double> area,
                                     std::pair<double, double> aspect, const std::string& mode,
                                     std::pair<std::int64_t, std::int64_t> count,
                                     const py::object& mean, const py::object& std) {
  return RandomErasingOptions()
      .p(p)
      .area(area)
      .aspect(aspect)
      .mode(enum_arg<ErasingMode>(mode, "RandomErasingOptions", "mode"))
      .count(count)
      .mean(values_arg(mean, "RandomErasingOptions", "mean"))
      .std(values_arg(std, "RandomErasingOptions", "std"));
}

MixupOptions mixup_options(std::int64_t num_classes, double alpha, double p,
                           const std::string& mode, double label_smoothing) {
  return MixupOptions(num_classes)
      .alpha(alpha)
      .p(p)
      .mode(enum_arg<MixMode>(mode, "MixupOptions", "mode"))
      .label_smoothing(label_smoothing);
}

AutoAugmentOptions autoaugment_options(const std::string& policy, const std::string& interpolation,
                                       const py::object& fill) {
  return AutoAugmentOptions()
      .policy(policy)
      .interpolation(interpolation_arg(interpolation, "AutoAugmentOptions"))
      .fill(values_arg(fill, "AutoAugmentOptions", "fill"));
}

RandAugmentOptions randaugment_options(std::int64_t num_ops, double magnitude, double magnitude_std,
                                       double magnitude_max, double prob, bool increasing,
                                       const std::string& interpolation, const py::object& fill) {
  return RandAugmentOptions()
      .num_ops(num_ops)
      .magnitude(magnitude)
      .magnitude_std(magnitude_std)
      .magnitude_max(magnitude_max)
      .prob(prob)
      .increasing(increasing)
      .interpolation(interpolation_arg(interpolation, "RandAugmentOptions"))
      .fill(values_arg(fill, "RandAugmentOptions", "fill"));
}

void bind_draws(py::module_& m) {
  py::class_<Boxes>(m, "Boxes",
                    "Per-image boxes: rows [y0, y1), cols [x0, x1), int64 tensors of N.")
      .def(py::init([](at::Tensor y0, at::Tensor y1, at::Tensor x0, at::Tensor x1) {
             return Boxes{std::move(y0), std::move(y1), std::move(x0), std::move(x1)};
           }),
           "y0"_a, "y1"_a, "x0"_a, "x1"_a)
      .def_readwrite("y0", &Boxes::y0)
      .def_readwrite("y1", &Boxes::y1)
      .def_readwrite("x0", &Boxes::x0)
      .def_readwrite("x1", &Boxes::x1)
      .def("area", &Boxes::area, "Each box's area after clipping (int64 N).");
  py::class_<ErasedBoxes>(m, "ErasedBoxes",
                          "Random erasing's draw: per round of boxes, the boxes and their fill.")
      .def(py::init([](std::vector<Boxes> boxes, std::vector<at::Tensor> fills) {
             return ErasedBoxes{std::move(boxes), std::move(fills)};
           }),
           "boxes"_a, "fills"_a)
      .def_readwrite("boxes", &ErasedBoxes::boxes)
      .def_readwrite("fills", &ErasedBoxes::fills);
  py::class_<OpLayer>(m, "OpLayer",
                      "One layer of drawn ops: op ids (int64 N) and magnitudes (float64 N).")
      .def(py::init([](at::Tensor ops, at::Tensor magnitudes) {
             return OpLayer{std::move(ops), std::move(magnitudes)};
           }),
           "ops"_a, "magnitudes"_a)
      .def_readwrite("ops", &OpLayer::ops)
      .def_readwrite("magnitudes", &OpLayer::magnitudes);
  py::class_<PastedOps>(m, "PastedOps",
                        "A selective-paste draw: the ops (list of OpLayer) and the pasted boxes.")
      .def(py::init([](OpDraw ops, Boxes paste) {
             return PastedOps{std::move(ops), std::move(paste)};
           }),
           "ops"_a, "paste"_a)
      .def_readwrite("ops", &PastedOps::ops)
      .def_readwrite("paste", &PastedOps::paste);
  py::class_<ThreeAugmentDraw>(m, "ThreeAugmentDraw",
                               "3-Augment's draw: choice, blur sigma, jitter factors and order.")
      .def(py::init([](at::Tensor choice, at::Tensor sigma, at::Tensor factors, at::Tensor order) {
             return ThreeAugmentDraw{std::move(choice), std::move(sigma), std::move(factors),
                                     std::move(order)};
           }),
           "choice"_a, "sigma"_a, "factors"_a, "order"_a)
      .def_readwrite("choice", &ThreeAugmentDraw::choice)
      .def_readwrite("sigma", &ThreeAugmentDraw::sigma)
      .def_readwrite("factors", &ThreeAugmentDraw::factors)
      .def_readwrite("order", &ThreeAugmentDraw::order);
}

void bind_policies(py::module_& m) {
  const CutoutOptions cutout(1);
  py::class_<Cutout> cutout_class(m, "Cutout",
                                  "Cutout: one square per image, centred at a uniform pixel, "
                                  "clipped to the image, filled with `fill`.");
  cutout_class.def(
      py::init([](std::int64_t length, double p, double max_fraction, const py::object& fill) {
        return Cutout(cutout_options(length, p, max_fraction, fill));
      }),
      "length"_a, "p"_a = cutout.p(), "max_fraction"_a = cutout.max_fraction(),
      "fill"_a = cutout.fill());
  image_policy<Cutout, Boxes>(cutout_class, "Cutout");

  const RandomErasingOptions erasing;
  py::class_<RandomErasing> erasing_class(
      m, "RandomErasing",
      "Random erasing (timm's): boxes of random area and aspect, filled with "
      "the mean or noise in normalised units.");
  erasing_class.def(
      py::init([](double p, std::pair<double, double> area, std::pair<double, double> aspect,
                  const std::string& mode, std::pair<std::int64_t, std::int64_t> count,
                  const py::object& mean, const py::object& std) {
        return RandomErasing(erasing_options(p, area, aspect, mode, count, mean, std));
      }),
      "p"_a = erasing.p(), "area"_a = erasing.area(), "aspect"_a = erasing.aspect(),
      "mode"_a = enum_name(erasing.mode()), "count"_a = erasing.count(), "mean"_a = erasing.mean(),
      "std"_a = erasing.std());
  image_policy<RandomErasing, ErasedBoxes>(erasing_class, "RandomErasing");

  const MixupOptions mix(1);
  py::class_<Mixup> mixup_class(m, "Mixup",
                                "Mixup: each image and target blended with its mirror in the "
                                "batch (index N-1-i) by lambda ~ Beta(alpha, alpha).");
  mixup_class.def(py::init([](std::int64_t num_classes, double alpha, double p,
                              const std::string& mode, double label_smoothing) {
                    return Mixup(mixup_options(num_classes, alpha, p, mode, label_smoothing));
                  }),
                  "num_classes"_a, "alpha"_a = mix.alpha(), "p"_a = mix.p(),
                  "mode"_a = enum_name(mix.mode()), "label_smoothing"_a = mix.label_smoothing());
  mixing_policy<Mixup, at::Tensor>(mixup_class, "Mixup",
                                   [](const Mixup& p, const at::Tensor& images, at::Generator& g) {
                                     check_images(images, "Mixup");
                                     return p.sample(images.size(0), g);
                                   });

  py::class_<CutMix> cutmix_class(m, "CutMix",
                                  "CutMix: a box of the mirror image pasted in; lambda from the "
                                  "box's clipped area.");
  cutmix_class.def(py::init([](std::int64_t num_classes, double alpha, double p,
                               const std::string& mode, double label_smoothing) {
                     return CutMix(mixup_options(num_classes, alpha, p, mode, label_smoothing));
                   }),
                   "num_classes"_a, "alpha"_a = mix.alpha(), "p"_a = mix.p(),
                   "mode"_a = enum_name(mix.mode()), "label_smoothing"_a = mix.label_smoothing());
  mixing_policy<CutMix, Boxes>(cutmix_class, "CutMix",
                               [](const CutMix& p, const at::Tensor& images, at::Generator& g) {
                                 return p.sample(images, g);
                               });

  const MixupOrCutMixOptions switching(1);
  py::class_<MixupOrCutMix>(m, "MixupOrCutMix",
                            "timm/DeiT's mixing: per batch CutMix with probability switch_prob, "
                            "else Mixup.")
      .def(py::init([](std::int64_t num_classes, double mixup_alpha, double cutmix_alpha,
                       double switch_prob, double p, double label_smoothing) {
             return MixupOrCutMix(MixupOrCutMixOptions(num_classes)
                                      .mixup_alpha(mixup_alpha)
                                      .cutmix_alpha(cutmix_alpha)
                                      .switch_prob(switch_prob)
                                      .p(p)
                                      .label_smoothing(label_smoothing));
           }),
           "num_classes"_a, "mixup_alpha"_a = switching.mixup_alpha(),
           "cutmix_alpha"_a = switching.cutmix_alpha(), "switch_prob"_a = switching.switch_prob(),
           "p"_a = switching.p(), "label_smoothing"_a = switching.label_smoothing())
      .def(
          "__call__",
          [](const MixupOrCutMix& p, const at::Tensor& images, const at::Tensor& targets,
             const py::object& generator) {
            at::Generator g = generator_arg(generator, "MixupOrCutMix");
            py::gil_scoped_release release;
            Batch out = p(Batch{images, targets}, g);
            return std::make_pair(out.images, out.targets);
          },
          "images"_a, "targets"_a, "generator"_a = py::none(),
          "(images, soft targets N×K) mixed by CutMix or Mixup.");

  const AutoAugmentOptions autoaugment;
  py::class_<AutoAugment> autoaugment_class(
      m, "AutoAugment",
      "AutoAugment: per image one of the learned policy's 25 sub-policies "
      "('imagenet' or 'cifar10').");
  autoaugment_class.def(py::init([](const std::string& policy, const std::string& interpolation,
                                    const py::object& fill) {
                          return AutoAugment(autoaugment_options(policy, interpolation, fill));
                        }),
                        "policy"_a = autoaugment.policy(),
                        "interpolation"_a = enum_name(autoaugment.interpolation()),
                        "fill"_a = autoaugment.fill());
  image_policy<AutoAugment, OpDraw>(autoaugment_class, "AutoAugment");

  const RandAugmentOptions randaugment;
  py::class_<RandAugment> randaugment_class(
      m, "RandAugment",
      "RandAugment with timm's op set and magnitudes (rand-m9-mstd0.5-inc1 by "
      "default).");
  randaugment_class.def(
      py::init([](std::int64_t num_ops, double magnitude, double magnitude_std,
                  double magnitude_max, double prob, bool increasing,
                  const std::string& interpolation, const py::object& fill) {
        return RandAugment(randaugment_options(num_ops, magnitude, magnitude_std, magnitude_max,
                                               prob, increasing, interpolation, fill));
      }),
      "num_ops"_a = randaugment.num_ops(), "magnitude"_a = randaugment.magnitude(),
      "magnitude_std"_a = randaugment.magnitude_std(),
      "magnitude_max"_a = randaugment.magnitude_max(), "prob"_a = randaugment.prob(),
      "increasing"_a = randaugment.increasing(),
      "interpolation"_a = enum_name(randaugment.interpolation()), "fill"_a = randaugment.fill());
  image_policy<RandAugment, OpDraw>(randaugment_class, "RandAugment");

  const TrivialAugmentOptions trivial;
  py::class_<TrivialAugment> trivial_class(
      m, "TrivialAugment",
      "torchvision's TrivialAugmentWide: one op of 14 at one of 31 "
      "magnitude bins per image.");
  trivial_class.def(
      py::init([](const std::string& interpolation, const py::object& fill) {
        return TrivialAugment(
            TrivialAugmentOptions()
                .interpolation(interpolation_arg(interpolation, "TrivialAugmentOptions"))
                .fill(values_arg(fill, "TrivialAugmentOptions", "fill")));
      }),
      "interpolation"_a = enum_name(trivial.interpolation()), "fill"_a = trivial.fill());
  image_policy<TrivialAugment, OpDraw>(trivial_class, "TrivialAugment");

  const FixMatchRandAugmentOptions fixmatch;
  py::class_<FixMatchRandAugment> fixmatch_class(
      m, "FixMatchRandAugment",
      "FixMatch's strong view as TorchSSL/USB draw it: num_ops of 14 "
      "ops per image, each applied at a uniform magnitude.");
  fixmatch_class.def(
      py::init([](std::int64_t num_ops, const std::string& interpolation, const py::object& fill) {
        return FixMatchRandAugment(
            FixMatchRandAugmentOptions()
                .num_ops(num_ops)
                .interpolation(interpolation_arg(interpolation, "FixMatchRandAugmentOptions"))
                .fill(values_arg(fill, "FixMatchRandAugmentOptions", "fill")));
      }),
      "num_ops"_a = fixmatch.num_ops(), "interpolation"_a = enum_name(fixmatch.interpolation()),
      "fill"_a = fixmatch.fill());
  image_policy<FixMatchRandAugment, OpDraw>(fixmatch_class, "FixMatchRandAugment");

  const ThreeAugmentOptions three;
  py::class_<ThreeAugment> three_class(
      m, "ThreeAugment",
      "DeiT-III's 3-Augment: grayscale, solarization or blur per image, then "
      "colour jitter.");
  three_class.def(py::init([](double color_jitter, double blur_sigma_min, double blur_sigma_max,
                              double solarize_threshold) {
                    return ThreeAugment(ThreeAugmentOptions()
                                            .color_jitter(color_jitter)
                                            .blur_sigma_min(blur_sigma_min)
                                            .blur_sigma_max(blur_sigma_max)
                                            .solarize_threshold(solarize_threshold));
                  }),
                  "color_jitter"_a = three.color_jitter(),
                  "blur_sigma_min"_a = three.blur_sigma_min(),
                  "blur_sigma_max"_a = three.blur_sigma_max(),
                  "solarize_threshold"_a = three.solarize_threshold());
  three_class
      .def(
          "__call__",
          [](const ThreeAugment& p, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, "ThreeAugment");
            py::gil_scoped_release release;
            return p(images, g);
          },
          "images"_a, "generator"_a = py::none(), kCallDoc)
      .def(
          "sample",
          [](const ThreeAugment& p, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, "ThreeAugment");
            check_images(images, "ThreeAugment");
            py::gil_scoped_release release;
            return p.sample(images.size(0), g);
          },
          "images"_a, "generator"_a = py::none(), kSampleDoc)
      .def(
          "apply",
          [](const ThreeAugment& p, const at::Tensor& images, const ThreeAugmentDraw& draw) {
            py::gil_scoped_release release;
            return p.apply(images, draw);
          },
          "images"_a, "draw"_a, kApplyDoc);
}

}  // namespace augcore::python

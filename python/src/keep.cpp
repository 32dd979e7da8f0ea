// Python bindings of KeepAugment: saliency sources (a Python model's gradient saliency, any
// callable, or a precomputed map) and the selective-cut and selective-paste policies.
#include "augcore/augment/keep.h"

#include "augcore/augment/saliency.h"

#include <mutex>
#include "policies.h"

namespace augcore::python {

using namespace augment;
using namespace pybind11::literals;

namespace {

// A saliency source as Python holds it.
struct Saliency {
  SaliencyFn fn;
};

// Logits of a Python model: any callable; a torch.nn.Module runs in eval mode, and each of its
// modules gets its own train/eval flag back afterwards. One forward at a time per model, so that
// threads sharing it cannot interleave the switch and the restore (the mutex is taken before
// the GIL: nothing that holds the GIL waits for it).
LogitsFn python_logits(py::object model) {
  return [handle = PyHandle(std::move(model)),
          serial = std::make_shared<std::mutex>()](const at::Tensor& x) {
    std::lock_guard<std::mutex> one_at_a_time(*serial);
    py::gil_scoped_acquire gil;
    const py::object& model = handle.get();
    if (!py::hasattr(model, "modules")) return model(x).cast<at::Tensor>();
    std::vector<std::pair<py::object, py::object>> modes;
    for (const py::handle module : model.attr("modules")()) {
      modes.emplace_back(py::reinterpret_borrow<py::object>(module), module.attr("training"));
    }
    const auto restore = [&modes] {
      for (auto& [module, training] : modes)
        module.attr("training") = training;
    };
    model.attr("eval")();
    try {
      at::Tensor logits = model(x).cast<at::Tensor>();
      restore();
      return logits;
    } catch (...) {
      restore();
      throw;
    }
  };
}

bool is_module(const py::object& object) {
  return py::isinstance(object, py::module_::import("torch.nn").attr("Module"));
}

// The `saliency=` of a Keep policy: a Saliency, a callable (pixels, targets) -> N×H×W map, or
// None (then every sample() call must give a map).
SaliencyFn saliency_arg(const py::object& source, const std::string& owner) {
  if (source.is_none()) {
    return [owner](const at::Tensor&, const at::Tensor&) -> at::Tensor {
      throw OptionError(owner, "saliency",
                        "no saliency source: give saliency= when building the policy, or a map "
                        "to sample()");
    };
  }
  if (py::isinstance<Saliency>(source)) return source.cast<const Saliency&>().fn;
  if (is_module(source)) {
    throw OptionError(owner, "saliency",
                      "a torch.nn.Module needs its input normalisation: pass "
                      "augcore.gradient_saliency(model, mean=..., std=...)");
  }
  if (!PyCallable_Check(source.ptr())) {
    throw OptionError(owner, "saliency",
                      "expected augcore.gradient_saliency(...), a callable (pixels, targets) -> "
                      "N×H×W map, or None");
  }
  return [handle = PyHandle(source)](const at::Tensor& pixels, const at::Tensor& targets) {
    py::gil_scoped_acquire gil;
    const py::object labels = targets.defined() ? py::cast(targets) : py::none();
    return handle.get()(pixels, labels).cast<at::Tensor>();
  };
}

KeepOptions keep_options(double quantile, bool mean_score) {
  return KeepOptions().quantile(quantile).mean_score(mean_score);
}

constexpr const char* kKeepSampleDoc =
    "What a call would draw; `saliency` (N×H×W) replaces the policy's saliency source.";

// sample, apply and __call__ of a Keep policy whose apply() takes the images only.
template <typename Policy, typename Draw, typename Class>
void keep_policy(Class& c, const char* name) {
  c.def(
       "sample",
       [name](const Policy& p, const at::Tensor& images, const py::object& targets,
              const py::object& generator, const py::object& saliency) {
         at::Generator g = generator_arg(generator, name);
         const at::Tensor labels = optional_tensor(targets), map = optional_tensor(saliency);
         py::gil_scoped_release release;
         return Draw(p.sample(images, labels, g, map));
       },
       "images"_a, "targets"_a = py::none(), "generator"_a = py::none(), "saliency"_a = py::none(),
       kKeepSampleDoc)
      .def(
          "apply",
          [](const Policy& p, const at::Tensor& images, const Draw& draw) {
            py::gil_scoped_release release;
            return p.apply(images, draw);
          },
          "images"_a, "draw"_a, "`images` augmented as `draw` says (from sample()).")
      .def(
          "__call__",
          [name](const Policy& p, const at::Tensor& images, const py::object& targets,
                 const py::object& generator, const py::object& saliency) {
            at::Generator g = generator_arg(generator, name);
            const at::Tensor labels = optional_tensor(targets), map = optional_tensor(saliency);
            py::gil_scoped_release release;
            return p.apply(images, p.sample(images, labels, g, map));
          },
          "images"_a, "targets"_a = py::none(), "generator"_a = py::none(),
          "saliency"_a = py::none(),
          "The batch augmented where its saliency (for `targets`; None: the predicted class) "
          "allows.");
}

}  // namespace

void bind_keep(py::module_& m) {
  py::class_<Saliency>(m, "Saliency",
                       "A saliency source for the Keep policies: call it as (images, targets).")
      .def(
          "__call__",
          [](const Saliency& s, const at::Tensor& images, const py::object& targets) {
            const at::Tensor labels = optional_tensor(targets);
            py::gil_scoped_release release;
            return s.fn(images, labels);
          },
          "images"_a, "targets"_a = py::none(),
          "N×H×W importance of `images` for `targets` (None: the predicted class).");

  const SaliencyOptions saliency;
  m.def(
      "gradient_saliency",
      [](py::object model, const py::object& mean, const py::object& std,
         const std::string& method) {
        SaliencyOptions options;
        options.mean(values_arg(mean, "SaliencyOptions", "mean"))
            .std(values_arg(std, "SaliencyOptions", "std"))
            .method(enum_arg<SaliencyMethod>(method, "SaliencyOptions", "method"));
        return Saliency{gradient_saliency(python_logits(std::move(model)), options)};
      },
      "model"_a, "mean"_a = saliency.mean(), "std"_a = saliency.std(),
      "method"_a = enum_name(saliency.method()),
      "KeepAugment's saliency of `model` (logits of a normalised input): |d label logit / d "
      "input|, max over channels; the model runs in eval mode and no parameter gradient is "
      "touched. method 'low_res' takes it on a x0.5 copy.");

  const KeepOptions keep;
  const CutoutOptions cutout(1);
  py::class_<KeepCutout> cutout_class(
      m, "KeepCutout",
      "KeepAugment's selective Cutout: the square lands where the saliency of "
      "the box is below the `quantile` of the image's boxes.");
  cutout_class.def(
      py::init([](std::int64_t length, const py::object& saliency, double p, double max_fraction,
                  const py::object& fill, double quantile, bool mean_score) {
        return KeepCutout(cutout_options(length, p, max_fraction, fill),
                          saliency_arg(saliency, "KeepCutout"), keep_options(quantile, mean_score));
      }),
      "length"_a, "saliency"_a = py::none(), "p"_a = cutout.p(),
      "max_fraction"_a = cutout.max_fraction(), "fill"_a = cutout.fill(),
      "quantile"_a = keep.quantile(), "mean_score"_a = keep.mean_score());
  keep_policy<KeepCutout, Boxes>(cutout_class, "KeepCutout");

  const RandomErasingOptions erasing;
  py::class_<KeepRandomErasing> erasing_class(
      m, "KeepRandomErasing",
      "KeepAugment's random erasing: the boxes land where the saliency "
      "is below the `quantile`.");
  erasing_class.def(
      py::init([](const py::object& saliency, double p, std::pair<double, double> area,
                  std::pair<double, double> aspect, const std::string& mode,
                  std::pair<std::int64_t, std::int64_t> count, const py::object& mean,
                  const py::object& std, double quantile, bool mean_score) {
        return KeepRandomErasing(erasing_options(p, area, aspect, mode, count, mean, std),
                                 saliency_arg(saliency, "KeepRandomErasing"),
                                 keep_options(quantile, mean_score));
      }),
      "saliency"_a = py::none(), "p"_a = erasing.p(), "area"_a = erasing.area(),
      "aspect"_a = erasing.aspect(), "mode"_a = enum_name(erasing.mode()),
      "count"_a = erasing.count(), "mean"_a = erasing.mean(), "std"_a = erasing.std(),
      "quantile"_a = keep.quantile(), "mean_score"_a = keep.mean_score());
  keep_policy<KeepRandomErasing, ErasedBoxes>(erasing_class, "KeepRandomErasing");

  const MixupOptions mix(1);
  py::class_<KeepCutMix>(m, "KeepCutMix",
                         "KeepAugment's CutMix: each box lands where the receiving image is "
                         "unimportant.")
      .def(py::init([](std::int64_t num_classes, const py::object& saliency, double alpha, double p,
                       const std::string& mode, double label_smoothing, double quantile,
                       bool mean_score) {
             return KeepCutMix(mixup_options(num_classes, alpha, p, mode, label_smoothing),
                               saliency_arg(saliency, "KeepCutMix"),
                               keep_options(quantile, mean_score));
           }),
           "num_classes"_a, "saliency"_a = py::none(), "alpha"_a = mix.alpha(), "p"_a = mix.p(),
           "mode"_a = enum_name(mix.mode()), "label_smoothing"_a = mix.label_smoothing(),
           "quantile"_a = keep.quantile(), "mean_score"_a = keep.mean_score())
      .def(
          "sample",
          [](const KeepCutMix& p, const at::Tensor& images, const at::Tensor& targets,
             const py::object& generator, const py::object& saliency) {
            at::Generator g = generator_arg(generator, "KeepCutMix");
            const at::Tensor map = optional_tensor(saliency);
            py::gil_scoped_release release;
            return p.sample(images, targets, g, map);
          },
          "images"_a, "targets"_a, "generator"_a = py::none(), "saliency"_a = py::none(),
          kKeepSampleDoc)
      .def(
          "apply",
          [](const KeepCutMix& p, const at::Tensor& images, const at::Tensor& targets,
             const Boxes& draw) {
            py::gil_scoped_release release;
            Batch out = p.apply(Batch{images, targets}, draw);
            return std::make_pair(out.images, out.targets);
          },
          "images"_a, "targets"_a, "draw"_a, "(images, targets) mixed as `draw` says.")
      .def(
          "__call__",
          [](const KeepCutMix& p, const at::Tensor& images, const at::Tensor& targets,
             const py::object& generator, const py::object& saliency) {
            at::Generator g = generator_arg(generator, "KeepCutMix");
            const at::Tensor map = optional_tensor(saliency);
            py::gil_scoped_release release;
            Batch out = p.apply(Batch{images, targets}, p.sample(images, targets, g, map));
            return std::make_pair(out.images, out.targets);
          },
          "images"_a, "targets"_a, "generator"_a = py::none(), "saliency"_a = py::none(),
          "(images, soft targets N×K) mixed, each box placed where its image is unimportant.");

  const AutoAugmentOptions autoaugment;
  py::class_<KeepAutoAugment> autoaugment_class(
      m, "KeepAutoAugment",
      "KeepAugment's selective-paste: AutoAugment, then a `paste_length` "
      "square of the clean image pasted back where it is important.");
  autoaugment_class.def(
      py::init([](std::int64_t paste_length, const py::object& saliency, const std::string& policy,
                  const std::string& interpolation, const py::object& fill, double quantile,
                  bool mean_score) {
        return KeepAutoAugment(autoaugment_options(policy, interpolation, fill), paste_length,
                               saliency_arg(saliency, "KeepAutoAugment"),
                               keep_options(quantile, mean_score));
      }),
      "paste_length"_a, "saliency"_a = py::none(), "policy"_a = autoaugment.policy(),
      "interpolation"_a = enum_name(autoaugment.interpolation()), "fill"_a = autoaugment.fill(),
      "quantile"_a = keep.quantile(), "mean_score"_a = keep.mean_score());
  keep_policy<KeepAutoAugment, PastedOps>(autoaugment_class, "KeepAutoAugment");

  const RandAugmentOptions randaugment;
  py::class_<KeepRandAugment> randaugment_class(
      m, "KeepRandAugment",
      "KeepAugment's selective-paste: RandAugment, then a `paste_length` "
      "square of the clean image pasted back where it is important.");
  randaugment_class.def(
      py::init([](std::int64_t paste_length, const py::object& saliency, std::int64_t num_ops,
                  double magnitude, double magnitude_std, double magnitude_max, double prob,
                  bool increasing, const std::string& interpolation, const py::object& fill,
                  double quantile, bool mean_score) {
        return KeepRandAugment(randaugment_options(num_ops, magnitude, magnitude_std, magnitude_max,
                                                   prob, increasing, interpolation, fill),
                               paste_length, saliency_arg(saliency, "KeepRandAugment"),
                               keep_options(quantile, mean_score));
      }),
      "paste_length"_a, "saliency"_a = py::none(), "num_ops"_a = randaugment.num_ops(),
      "magnitude"_a = randaugment.magnitude(), "magnitude_std"_a = randaugment.magnitude_std(),
      "magnitude_max"_a = randaugment.magnitude_max(), "prob"_a = randaugment.prob(),
      "increasing"_a = randaugment.increasing(),
      "interpolation"_a = enum_name(randaugment.interpolation()), "fill"_a = randaugment.fill(),
      "quantile"_a = keep.quantile(), "mean_score"_a = keep.mean_score());
  keep_policy<KeepRandAugment, PastedOps>(randaugment_class, "KeepRandAugment");
}

}  // namespace augcore::python

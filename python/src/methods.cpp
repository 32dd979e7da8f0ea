// Python bindings of MRA (an augmentor loaded from a checkpoint) and MaskSub (the loss around
// a Python model's forward functions).
#include <ATen/ATen.h>

#include "augcore/augment/mra.h"
#include "augcore/core/pth.h"
#include "augcore/models/mae.h"
#include "augcore/models/state_dict.h"
#include "augcore/objective/masksub.h"
#include "bindings.h"
#include "enums.h"

#include <optional>

namespace augcore::python {

using namespace augment;
using namespace pybind11::literals;

namespace {

// The preset a checkpoint names ("preset", as mae_pretrain writes it), or `given`.
std::string checkpoint_preset(const c10::IValue& payload, const std::string& path,
                              const std::optional<std::string>& given) {
  if (given) return *given;
  if (payload.isGenericDict()) {
    const auto dict = payload.toGenericDict();
    const auto it = dict.find(c10::IValue(std::string("preset")));
    if (it != dict.end() && it->value().isString()) return it->value().toStringRef();
  }
  throw DataError(path +
                  ": names no MAE preset (an official MAE checkpoint does not): pass "
                  "preset= ('mae_base' for ViT-B/16, 'mae_large' for ViT-L/16)");
}

// The channels of a checkpoint's MAE: dimension 1 of patch_embed.proj.weight.
std::int64_t checkpoint_channels(const c10::IValue& payload, const std::string& path) {
  const auto state = models::find_state_dict(payload, path);
  const auto it = state.find(c10::IValue(std::string("patch_embed.proj.weight")));
  if (it == state.end() || !it->value().isTensor() || it->value().toTensor().dim() != 4) {
    throw DataError(path + ": has no 4-d patch_embed.proj.weight (not an MAE checkpoint)");
  }
  return it->value().toTensor().size(1);
}

std::shared_ptr<MraAugmentorImpl> load_mra(const std::string& path,
                                           const std::optional<std::string>& preset,
                                           std::int64_t in_chans, double mask_ratio,
                                           const std::string& mode, const std::string& attention,
                                           double p, bool paste_visible, bool norm_pix,
                                           const py::object& mean, const py::object& std) {
  MraOptions options;
  options.mask_ratio(mask_ratio)
      .mode(enum_arg<MaskMode>(mode, "MraOptions", "mode"))
      .attention(enum_arg<AttentionReading>(attention, "MraOptions", "attention"))
      .p(p)
      .paste_visible(paste_visible)
      .norm_pix(norm_pix);
  if (!mean.is_none()) options.mean(values_arg(mean, "MraOptions", "mean"));
  if (!std.is_none()) options.std(values_arg(std, "MraOptions", "std"));
  py::gil_scoped_release release;
  const c10::IValue payload = pth::load(path);
  models::MaeConfig config = models::mae_preset(checkpoint_preset(payload, path, preset));
  config.in_chans = in_chans > 0 ? in_chans : checkpoint_channels(payload, path);
  return load_mra_augmentor(path, config, options).ptr();
}

// A Python callable as a C++ function of tensors (and other arguments), called with the GIL.
template <typename Result, typename... Args>
std::function<Result(Args...)> python_function(const py::object& f) {
  if (f.is_none()) return nullptr;
  return [handle = PyHandle(f)](Args... args) -> Result {
    py::gil_scoped_acquire gil;
    if constexpr (std::is_void_v<Result>) {
      handle.get()(args...);
    } else {
      return handle.get()(args...).template cast<Result>();
    }
  };
}

}  // namespace

void bind_mra(py::module_& m) {
  const MraOptions mra;
  py::class_<MraDraw>(m, "MraDraw",
                      "MRA's draw: the images augmented (int64 K) and their masking noise (K×L).")
      .def(py::init([](at::Tensor rows, at::Tensor noise) {
             return MraDraw{std::move(rows), std::move(noise)};
           }),
           "rows"_a, "noise"_a)
      .def_readwrite("rows", &MraDraw::rows)
      .def_readwrite("noise", &MraDraw::noise);
  py::class_<MraAugmentorImpl, std::shared_ptr<MraAugmentorImpl>>(
      m, "MraAugmentor", "The C++ augmentor behind augcore.MRA (a frozen MAE).")
      .def_static("load", &load_mra, "path"_a, "preset"_a = py::none(), "in_chans"_a = 0,
                  "mask_ratio"_a = mra.mask_ratio(), "mode"_a = enum_name(mra.mode()),
                  "attention"_a = enum_name(mra.attention()), "p"_a = mra.p(),
                  "paste_visible"_a = mra.paste_visible(), "norm_pix"_a = mra.norm_pix(),
                  "mean"_a = py::none(), "std"_a = py::none())
      .def(
          "forward",
          [](MraAugmentorImpl& a, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, "MRA");
            py::gil_scoped_release release;
            return a.forward(images, g);
          },
          "images"_a, "generator"_a = py::none())
      .def(
          "sample",
          [](const MraAugmentorImpl& a, const at::Tensor& images, const py::object& generator) {
            at::Generator g = generator_arg(generator, "MRA");
            py::gil_scoped_release release;
            return a.sample(images, g);
          },
          "images"_a, "generator"_a = py::none())
      .def("apply", &MraAugmentorImpl::apply, "images"_a, "draw"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("augment", &MraAugmentorImpl::augment, "images"_a, "noise"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("attention_and_mask", &MraAugmentorImpl::attention_and_mask, "images"_a, "noise"_a,
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("patch_size", &MraAugmentorImpl::patch_size)
      .def_property_readonly("mean", [](const MraAugmentorImpl& a) { return a.options().mean(); })
      .def_property_readonly("std", [](const MraAugmentorImpl& a) { return a.options().std(); })
      .def("tensors", [](const MraAugmentorImpl& a) {
        std::vector<at::Tensor> tensors;
        for (const auto& p : a.parameters(true))
          tensors.push_back(p);
        for (const auto& b : a.buffers(true))
          tensors.push_back(b);
        return tensors;
      });
}

void bind_masksub(py::module_& m) {
  using objective::MaskSub;
  using objective::MaskSubLoss;
  using objective::MaskSubModel;
  using objective::MaskSubOptions;
  using objective::MaskSubVariant;
  py::class_<MaskSubLoss>(m, "MaskSubLoss", "The losses of one MaskSub step.")
      .def_readonly("loss", &MaskSubLoss::loss, "weight_main·main + weight_sub·sub")
      .def_readonly("to_backward", &MaskSubLoss::to_backward,
                    "what to backpropagate: `loss`, or the sub part when `backward` was given")
      .def_readonly("logits", &MaskSubLoss::logits, "the main pass's logits")
      .def_readonly("main_loss", &MaskSubLoss::main_loss, "detached, for logging")
      .def_readonly("sub_loss", &MaskSubLoss::sub_loss, "detached, for logging");
  const MaskSubOptions masksub;
  py::class_<MaskSub>(m, "MaskSub",
                      "MaskSub: a sub pass on a masked input, sharing the model's weights, "
                      "trained toward the main pass's detached predictions.")
      .def(py::init([](const py::object& criterion, double ratio, const std::string& variant,
                       double weight_main, double weight_sub, std::int64_t cell,
                       const py::object& probabilities) {
             MaskSub::Criterion loss =
                 criterion.is_none()
                     ? MaskSub::Criterion([](const at::Tensor& logits, const at::Tensor& targets) {
                         return at::cross_entropy_loss(logits, targets);
                       })
                     : python_function<at::Tensor, const at::Tensor&, const at::Tensor&>(criterion);
             return MaskSub(
                 MaskSubOptions()
                     .ratio(ratio)
                     .variant(enum_arg<MaskSubVariant>(variant, "MaskSubOptions", "variant"))
                     .weight_main(weight_main)
                     .weight_sub(weight_sub)
                     .cell(cell),
                 std::move(loss), python_function<at::Tensor, const at::Tensor&>(probabilities));
           }),
           "criterion"_a = py::none(), "ratio"_a = masksub.ratio(),
           "variant"_a = enum_name(masksub.variant()), "weight_main"_a = masksub.weight_main(),
           "weight_sub"_a = masksub.weight_sub(), "cell"_a = masksub.cell(),
           "probabilities"_a = py::none())
      .def(
          "__call__",
          [](const MaskSub& loss, const py::object& forward, const at::Tensor& images,
             const at::Tensor& targets, const py::object& generator, const py::object& backward,
             const py::object& kept_forward, std::int64_t num_patches,
             const py::object& rate_forward) {
            at::Generator g = generator_arg(generator, "MaskSub");
            MaskSubModel model;
            model.forward = python_function<at::Tensor, const at::Tensor&>(forward);
            model.kept_forward =
                python_function<at::Tensor, const at::Tensor&, const at::Tensor&>(kept_forward);
            model.num_patches = num_patches;
            model.rate_forward =
                python_function<at::Tensor, const at::Tensor&, double>(rate_forward);
            const auto backward_fn = python_function<void, const at::Tensor&>(backward);
            py::gil_scoped_release release;
            return loss(model, images, targets, g, backward_fn);
          },
          "forward"_a, "images"_a, "targets"_a, "generator"_a = py::none(),
          "backward"_a = py::none(), "kept_forward"_a = py::none(), "num_patches"_a = 0,
          "rate_forward"_a = py::none(),
          "One step: the main pass forward(images), then the sub pass (kept_forward(images, "
          "keep) for token-dropping models, else forward on a cell-masked input).");
}

}  // namespace augcore::python

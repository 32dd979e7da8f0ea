// The augcore._C extension module: augcore's library (MRA, KeepAugment, MaskSub and the batch
// policies) for Python, over the torch the user has installed.
#include <torch/csrc/Exceptions.h>
#include <torch/version.h>

#include "bindings.h"

namespace augcore::python {
namespace {

// Python classes of augcore's errors: UsageError, and beneath it ConfigError (a ValueError;
// OptionError beneath it) and DataError (a RuntimeError).
struct ErrorTypes {
  py::object usage, config, option, data;
};

ErrorTypes& error_types() {
  static ErrorTypes* types = new ErrorTypes();
  return *types;
}

py::object new_error(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("augcore.") + name;
  py::object type = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr));
  if (!type) throw py::error_already_set();
  m.attr(name) = type;
  return type;
}

// Raises `type(message)` with `category` (and, for an OptionError, `option` and `reason`) set.
void raise(const py::object& type, const UsageError& error) {
  py::object instance = type(error.what());
  instance.attr("category") = error.category();
  if (const auto* option = dynamic_cast<const OptionError*>(&error)) {
    instance.attr("option") = option->option();
    instance.attr("reason") = option->reason();
  }
  PyErr_SetObject(type.ptr(), instance.ptr());
}

}  // namespace

at::Generator generator_arg(const py::object& generator, const std::string& owner) {
  if (generator.is_none()) return {};
  if (!THPGenerator_Check(generator.ptr())) {
    throw OptionError(owner, "generator",
                      "expected a torch.Generator or None, got " +
                          std::string(py::str(py::type::of(generator).attr("__name__"))));
  }
  at::Generator g = reinterpret_cast<THPGenerator*>(generator.ptr())->cdata;
  if (g.device().type() != at::kCPU) {
    throw OptionError(owner, "generator",
                      "draws come from a CPU generator (the same draws on every device); got a " +
                          g.device().str() + " generator");
  }
  return g;
}

std::vector<double> values_arg(const py::object& values, const std::string& owner,
                               const std::string& option) {
  if (py::isinstance<py::float_>(values) || py::isinstance<py::int_>(values)) {
    return {values.cast<double>()};
  }
  try {
    return values.cast<std::vector<double>>();
  } catch (const py::cast_error&) {
    throw OptionError(owner, option, "expected a number or a sequence of numbers");
  }
}

PyHandle::PyHandle(py::object object)
    : object_(new py::object(std::move(object)), [](py::object* o) {
        py::gil_scoped_acquire gil;
        delete o;
      }) {}

at::Tensor optional_tensor(const py::object& value) {
  return value.is_none() ? at::Tensor() : value.cast<at::Tensor>();
}

void bind_errors(py::module_& m) {
  ErrorTypes& types = error_types();
  types.usage = new_error(m, "UsageError", py::make_tuple(py::handle(PyExc_Exception)),
                          "Bad input to augcore: an option, a file or a call's arguments.");
  types.config =
      new_error(m, "ConfigError", py::make_tuple(types.usage, py::handle(PyExc_ValueError)),
                "A configuration value is wrong.");
  types.option = new_error(m, "OptionError", py::make_tuple(types.config),
                           "An option or argument has an impossible value; `option` names it.");
  types.data =
      new_error(m, "DataError", py::make_tuple(types.usage, py::handle(PyExc_RuntimeError)),
                "A file (checkpoint, dataset) is missing, truncated or malformed.");
  py::register_local_exception_translator([](std::exception_ptr thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const OptionError& e) {
      raise(error_types().option, e);
    } catch (const ConfigError& e) {
      raise(error_types().config, e);
    } catch (const DataError& e) {
      raise(error_types().data, e);
    } catch (const UsageError& e) {
      raise(error_types().usage, e);
    } catch (const c10::Error&) {
      // LibTorch's own errors as torch raises them (IndexError, torch.OutOfMemoryError, …).
      torch::translate_exception_to_python(std::current_exception());
    }
  });
}

}  // namespace augcore::python

PYBIND11_MODULE(_C, m) {
  using namespace augcore::python;
  m.doc() = "augcore's C++ library: MRA, KeepAugment, MaskSub and batch augmentations.";
  // The torch it was built against (major.minor); augcore/__init__.py compares it with torch's.
  m.attr("TORCH_VERSION") =
      std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR);
  bind_errors(m);
  bind_draws(m);
  bind_policies(m);
  bind_keep(m);
  bind_mra(m);
  bind_masksub(m);
}

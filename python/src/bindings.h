// What augcore's Python bindings share: argument conversion (generators, per-channel values,
// enums by name), Python callables held by C++ code, and the binders of each area.
#pragma once

#include <torch/extension.h>

#include "augcore/core/error.h"

#include <memory>
#include <string>
#include <vector>

namespace augcore::python {

namespace py = pybind11;

// A `generator=` argument: None is the default CPU generator, else a CPU torch.Generator whose
// state the call advances. Anything else throws OptionError("<owner>.generator: …").
at::Generator generator_arg(const py::object& generator, const std::string& owner);

// Per-channel values: one number or a sequence of numbers.
std::vector<double> values_arg(const py::object& values, const std::string& owner,
                               const std::string& option);

// A Python object kept alive by C++ code, released with the GIL held (C++ may drop it from a
// thread that does not hold the GIL).
class PyHandle {
 public:
  explicit PyHandle(py::object object);
  // The object; the caller holds the GIL.
  const py::object& get() const { return *object_; }

 private:
  std::shared_ptr<py::object> object_;
};

// A tensor argument that may be None.
at::Tensor optional_tensor(const py::object& value);

void bind_errors(py::module_& m);
void bind_draws(py::module_& m);
void bind_policies(py::module_& m);
void bind_keep(py::module_& m);
void bind_mra(py::module_& m);
void bind_masksub(py::module_& m);

}  // namespace augcore::python

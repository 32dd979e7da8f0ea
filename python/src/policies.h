// Options structs built from Python keyword arguments, shared by the policies' bindings and
// their KeepAugment variants'.
#pragma once

#include "augcore/augment/auto_augment.h"
#include "augcore/augment/cutout.h"
#include "augcore/augment/mix.h"
#include "augcore/augment/random_erasing.h"
#include "bindings.h"
#include "enums.h"

namespace augcore::python {

augment::ops::Interpolation interpolation_arg(const std::string& name, const std::string& owner);

augment::CutoutOptions cutout_options(std::int64_t length, double p, double max_fraction,
                                      const py::object& fill);
augment::RandomErasingOptions erasing_options(double p, std::pair<double, double> area,
                                              std::pair<double, double> aspect,
                                              const std::string& mode,
                                              std::pair<std::int64_t, std::int64_t> count,
                                              const py::object& mean, const py::object& std);
augment::MixupOptions mixup_options(std::int64_t num_classes, double alpha, double p,
                                    const std::string& mode, double label_smoothing);
augment::AutoAugmentOptions autoaugment_options(const std::string& policy,
                                                const std::string& interpolation,
                                                const py::object& fill);
augment::RandAugmentOptions randaugment_options(std::int64_t num_ops, double magnitude,
                                                double magnitude_std, double magnitude_max,
                                                double prob, bool increasing,
                                                const std::string& interpolation,
                                                const py::object& fill);

}  // namespace augcore::python

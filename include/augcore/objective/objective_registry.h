// Recipe `objective` and `loss` sections → Objective and Criterion: the factory signature of
// the registered objectives and the functions that build them from a recipe.
#pragma once

#include <functional>
#include <memory>

#include "augcore/config/config.h"
#include "augcore/objective/criterion.h"
#include "augcore/objective/objective.h"

namespace augcore::objective {

// The factory signature of registered objectives (kind "objective").
using ObjectiveFactory =
    std::function<std::unique_ptr<Objective>(const config::Options&, Criterion criterion)>;

std::unique_ptr<Objective> make_objective(const config::ComponentConfig& component,
                                          Criterion criterion);

// The `loss` recipe section: kind and label_smoothing.
config::Schema criterion_schema();
Criterion make_criterion(const config::Options& loss);

}  // namespace augcore::objective

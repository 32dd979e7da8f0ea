// The library's enums by their recipe names: Python arguments name them as strings, and the
// keyword defaults are the names of the C++ options structs' default values.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "augcore/augment/image_ops.h"
#include "augcore/augment/mix.h"
#include "augcore/augment/mra.h"
#include "augcore/augment/random_erasing.h"
#include "augcore/augment/saliency.h"
#include "augcore/core/error.h"
#include "augcore/objective/masksub.h"

namespace augcore::python {

template <typename Enum>
using EnumNames = std::vector<std::pair<const char*, Enum>>;

inline const EnumNames<augment::ops::Interpolation>& names_of(augment::ops::Interpolation) {
  static const EnumNames<augment::ops::Interpolation> names{
      {"nearest", augment::ops::Interpolation::kNearest},
      {"bilinear", augment::ops::Interpolation::kBilinear}};
  return names;
}
inline const EnumNames<augment::ErasingMode>& names_of(augment::ErasingMode) {
  static const EnumNames<augment::ErasingMode> names{{"const", augment::ErasingMode::kConst},
                                                     {"rand", augment::ErasingMode::kRandom},
                                                     {"pixel", augment::ErasingMode::kPixel}};
  return names;
}
inline const EnumNames<augment::MixMode>& names_of(augment::MixMode) {
  static const EnumNames<augment::MixMode> names{{"batch", augment::MixMode::kBatch},
                                                 {"elem", augment::MixMode::kElem}};
  return names;
}
inline const EnumNames<augment::SaliencyMethod>& names_of(augment::SaliencyMethod) {
  static const EnumNames<augment::SaliencyMethod> names{
      {"full", augment::SaliencyMethod::kFull}, {"low_res", augment::SaliencyMethod::kLowRes}};
  return names;
}
inline const EnumNames<augment::MaskMode>& names_of(augment::MaskMode) {
  static const EnumNames<augment::MaskMode> names{{"low", augment::MaskMode::kLow},
                                                  {"high", augment::MaskMode::kHigh},
                                                  {"random", augment::MaskMode::kRandom}};
  return names;
}
inline const EnumNames<augment::AttentionReading>& names_of(augment::AttentionReading) {
  static const EnumNames<augment::AttentionReading> names{
      {"cls", augment::AttentionReading::kCls}, {"patches", augment::AttentionReading::kPatches}};
  return names;
}
inline const EnumNames<objective::MaskSubVariant>& names_of(objective::MaskSubVariant) {
  static const EnumNames<objective::MaskSubVariant> names{
      {"mask", objective::MaskSubVariant::kMask},
      {"dropout", objective::MaskSubVariant::kDropout},
      {"droppath", objective::MaskSubVariant::kDropPath}};
  return names;
}

// The enum value a name stands for; throws OptionError("<owner>.<option>: …") naming the
// choices.
template <typename Enum>
Enum enum_arg(const std::string& name, const std::string& owner, const std::string& option) {
  std::string known;
  for (const auto& [choice, value] : names_of(Enum{})) {
    if (name == choice) return value;
    known += (known.empty() ? "" : ", ") + std::string(choice);
  }
  throw OptionError(owner, option, "'" + name + "' is not one of " + known);
}

// The name of an enum value (a keyword default).
template <typename Enum>
std::string enum_name(Enum value) {
  for (const auto& [choice, v] : names_of(value)) {
    if (v == value) return choice;
  }
  return {};
}

}  // namespace augcore::python

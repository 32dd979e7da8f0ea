// Declared options of a config section or component: name, type, default, bounds and doc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "augcore/config/node.h"

namespace augcore::config {

class Schema;

enum class ValueType {
  Bool,
  Int,
  Float,
  String,
  Choice,  // a string from a fixed set
  IntList,
  FloatList,
  Section,        // a nested map with its own schema
  Component,      // {name: registered-component, its options...}
  ComponentList,  // a list of components
};

// One declared option. Built through Schema::add_* and refined with the fluent setters.
struct OptionSpec {
  std::string name;
  ValueType type = ValueType::String;
  std::string doc;
  Node default_value;  // already in resolved form; null when there is none
  bool required = false;
  bool nullable = false;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::size_t min_items = 0;
  std::size_t max_items = std::numeric_limits<std::size_t>::max();
  std::vector<std::string> choices;
  std::shared_ptr<const Schema> section;
  std::string component_kind;

  // Numeric bounds (inclusive); for lists they apply to each element.
  OptionSpec& range(double lo, double hi);
  // Allowed list lengths.
  OptionSpec& items(std::size_t lo, std::size_t hi);
  // Null is accepted (for components: the component is disabled).
  OptionSpec& allow_null();
  // The key must be present; there is no default.
  OptionSpec& require();

  // Type name as shown in errors and documentation ("integer", "list of floats", ...).
  std::string type_name() const;
  // The default as YAML text for documentation ("none" when absent).
  std::string default_text() const;
};

// An ordered set of option declarations.
class Schema {
 public:
  OptionSpec& add_bool(const std::string& name, bool def, const std::string& doc);
  OptionSpec& add_int(const std::string& name, std::int64_t def, const std::string& doc);
  OptionSpec& add_float(const std::string& name, double def, const std::string& doc);
  OptionSpec& add_string(const std::string& name, const std::string& def, const std::string& doc);
  OptionSpec& add_choice(const std::string& name, const std::string& def,
                         std::vector<std::string> choices, const std::string& doc);
  OptionSpec& add_ints(const std::string& name, const std::vector<std::int64_t>& def,
                       const std::string& doc);
  OptionSpec& add_floats(const std::string& name, const std::vector<double>& def,
                         const std::string& doc);
  OptionSpec& add_section(const std::string& name, Schema section, const std::string& doc);
  // A registered component of `kind`; `default_name` empty means no default (null).
  OptionSpec& add_component(const std::string& name, const std::string& kind,
                            const std::string& default_name, const std::string& doc);
  OptionSpec& add_component_list(const std::string& name, const std::string& kind,
                                 const std::string& doc);

  const std::vector<OptionSpec>& options() const { return options_; }
  const OptionSpec* find(const std::string& name) const;
  // A declared option, to adjust it (e.g. another default); std::logic_error if undeclared.
  OptionSpec& at(const std::string& name);
  // A key an earlier release called `old_name`, still read as the declared `new_name` (configs
  // and checkpoints written before the rename keep working); giving both is an error.
  void rename(const std::string& old_name, const std::string& new_name);
  // The declared name `old_name` was renamed to, or nullptr.
  const std::string* renamed_to(const std::string& old_name) const;

 private:
  OptionSpec& add(OptionSpec spec);
  std::vector<OptionSpec> options_;
  std::vector<std::pair<std::string, std::string>> renamed_;
};

// Canonical text of a number as stored in resolved configs.
std::string format_number(double value);

}  // namespace augcore::config

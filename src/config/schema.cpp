#include "augcore/config/schema.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "augcore/config/yaml_io.h"

namespace augcore::config {

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  // Prefer the shortest text that reads back to the same double.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buf;
}

OptionSpec& OptionSpec::range(double lo, double hi) {
  min = lo;
  max = hi;
  return *this;
}

OptionSpec& OptionSpec::items(std::size_t lo, std::size_t hi) {
  min_items = lo;
  max_items = hi;
  return *this;
}

OptionSpec& OptionSpec::allow_null() {
  nullable = true;
  return *this;
}

OptionSpec& OptionSpec::require() {
  required = true;
  default_value = Node::null();
  return *this;
}

std::string OptionSpec::type_name() const {
  switch (type) {
    case ValueType::Bool:
      return "boolean";
    case ValueType::Int:
      return "integer";
    case ValueType::Float:
      return "number";
    case ValueType::String:
      return "string";
    case ValueType::Choice:
      return "one of " + [this] {
        std::string s;
        for (const auto& c : choices)
          s += (s.empty() ? "" : "|") + c;
        return s;
      }();
    case ValueType::IntList:
      return "list of integers";
    case ValueType::FloatList:
      return "list of numbers";
    case ValueType::Section:
      return "section";
    case ValueType::Component:
      return component_kind;
    case ValueType::ComponentList:
      return "list of " + component_kind + "s";
  }
  return "?";
}

std::string OptionSpec::default_text() const {
  if (required) return "(required)";
  if (default_value.is_null()) return "null";
  std::string text = to_yaml(default_value);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

OptionSpec& Schema::add(OptionSpec spec) {
  if (find(spec.name) || renamed_to(spec.name)) {
    throw std::logic_error("option '" + spec.name + "' declared twice");
  }
  options_.push_back(std::move(spec));
  return options_.back();
}

const OptionSpec* Schema::find(const std::string& name) const {
  for (const auto& o : options_) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

OptionSpec& Schema::at(const std::string& name) {
  for (auto& o : options_) {
    if (o.name == name) return o;
  }
  throw std::logic_error("option '" + name + "' is not declared");
}

void Schema::rename(const std::string& old_name, const std::string& new_name) {
  if (!find(new_name)) throw std::logic_error("option '" + new_name + "' is not declared");
  if (find(old_name) || renamed_to(old_name)) {
    throw std::logic_error("option '" + old_name + "' declared twice");
  }
  renamed_.emplace_back(old_name, new_name);
}

const std::string* Schema::renamed_to(const std::string& old_name) const {
  for (const auto& [old_key, new_key] : renamed_) {
    if (old_key == old_name) return &new_key;
  }
  return nullptr;
}

OptionSpec& Schema::add_bool(const std::string& name, bool def, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Bool;
  s.doc = doc;
  s.default_value = Node::scalar(def ? "true" : "false");
  return add(std::move(s));
}

OptionSpec& Schema::add_int(const std::string& name, std::int64_t def, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Int;
  s.doc = doc;
  s.default_value = Node::scalar(std::to_string(def));
  return add(std::move(s));
}

OptionSpec& Schema::add_float(const std::string& name, double def, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Float;
  s.doc = doc;
  s.default_value = Node::scalar(format_number(def));
  return add(std::move(s));
}

OptionSpec& Schema::add_string(const std::string& name, const std::string& def,
                               const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::String;
  s.doc = doc;
  s.default_value = Node::scalar(def);
  return add(std::move(s));
}

OptionSpec& Schema::add_choice(const std::string& name, const std::string& def,
                               std::vector<std::string> choices, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Choice;
  s.doc = doc;
  s.default_value = Node::scalar(def);
  s.choices = std::move(choices);
  return add(std::move(s));
}

OptionSpec& Schema::add_ints(const std::string& name, const std::vector<std::int64_t>& def,
                             const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::IntList;
  s.doc = doc;
  s.default_value = Node::sequence();
  for (auto v : def)
    s.default_value.push_back(Node::scalar(std::to_string(v)));
  return add(std::move(s));
}

OptionSpec& Schema::add_floats(const std::string& name, const std::vector<double>& def,
                               const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::FloatList;
  s.doc = doc;
  s.default_value = Node::sequence();
  for (auto v : def)
    s.default_value.push_back(Node::scalar(format_number(v)));
  return add(std::move(s));
}

OptionSpec& Schema::add_section(const std::string& name, Schema section, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Section;
  s.doc = doc;
  s.default_value = Node::map();
  s.section = std::make_shared<const Schema>(std::move(section));
  return add(std::move(s));
}

OptionSpec& Schema::add_component(const std::string& name, const std::string& kind,
                                  const std::string& default_name, const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::Component;
  s.doc = doc;
  s.component_kind = kind;
  if (default_name.empty()) {
    s.nullable = true;
  } else {
    s.default_value = Node::map();
    s.default_value.set("name", Node::scalar(default_name));
  }
  return add(std::move(s));
}

OptionSpec& Schema::add_component_list(const std::string& name, const std::string& kind,
                                       const std::string& doc) {
  OptionSpec s;
  s.name = name;
  s.type = ValueType::ComponentList;
  s.doc = doc;
  s.component_kind = kind;
  s.default_value = Node::sequence();
  return add(std::move(s));
}

}  // namespace augcore::config

#include "augcore/config/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"

namespace augcore::config {
namespace fs = std::filesystem;

// ---------------------------------------------------------------- loading

namespace {

constexpr const char* kBaseKey = "_base_";

Node load_file_with_bases(const std::string& path, std::vector<std::string>& chain) {
  const std::string canonical = fs::weakly_canonical(fs::path(path)).string();
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
    throw ConfigError("'" + path + "': _base_ files include each other in a cycle");
  }
  chain.push_back(canonical);
  Node root = read_yaml_file(path);
  Node merged = Node::map(root.origin());
  if (const Node* base = root.find(kBaseKey)) {
    std::vector<const Node*> bases;
    if (base->is_scalar()) {
      bases.push_back(base);
    } else if (base->is_sequence()) {
      for (const auto& item : base->items())
        bases.push_back(&item);
    }
    if (bases.empty()) {
      throw ConfigError(base->origin().str() + ": _base_: expected a file name or a list of them");
    }
    for (const Node* b : bases) {
      if (!b->is_scalar()) {
        throw ConfigError(b->origin().str() + ": _base_: expected a file name, got " +
                          b->describe());
      }
      fs::path base_path = b->text();
      if (base_path.is_relative()) base_path = fs::path(path).parent_path() / base_path;
      if (!fs::exists(base_path)) {
        throw ConfigError(b->origin().str() + ": _base_ file '" + base_path.string() +
                          "' does not exist");
      }
      merge_into(merged, load_file_with_bases(base_path.string(), chain));
    }
    root.erase(kBaseKey);
  }
  chain.pop_back();
  merge_into(merged, root);
  return merged;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Node load_file(const std::string& path) {
  std::vector<std::string> chain;
  return load_file_with_bases(path, chain);
}

void apply_override(Node& root, const std::string& assignment) {
  const Origin origin{"--set " + assignment, 0};
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(origin.str() + ": expected key.path=value");
  }
  const std::string key = assignment.substr(0, eq);
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    throw ConfigError(origin.str() + ": '" + key + "' is not a valid key path");
  }
  Node* node = &root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (node->is_sequence() && is_index(part)) {
      const std::size_t index = std::stoul(part);
      if (index >= node->items().size()) {
        throw ConfigError(origin.str() + ": index " + part + " is past the end of a list of " +
                          std::to_string(node->items().size()));
      }
      node = &node->items()[index];
      if (last) *node = parse_yaml_value(assignment.substr(eq + 1), origin);
      continue;
    }
    if (!node->is_map()) *node = Node::map(origin);
    if (last) {
      node->set(part, parse_yaml_value(assignment.substr(eq + 1), origin));
    } else {
      Node* child = node->find(part);
      node = child ? child : &node->set(part, Node::map(origin));
    }
  }
}

// ---------------------------------------------------------------- validation

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items)
    s += (s.empty() ? "" : ", ") + i;
  return s;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

bool parse_bool(const std::string& s, bool& out) {
  static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "on", "On"};
  static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "off", "Off"};
  if (yes.count(s)) {
    out = true;
    return true;
  }
  if (no.count(s)) {
    out = false;
    return true;
  }
  return false;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && begin != end;
}

bool parse_float(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

// The value `input` gives for option `name`, under its name or a name it had before.
const Node* given_value(const Node& input, const Schema& schema, const std::string& name) {
  if (const Node* given = input.find(name)) return given;
  for (const auto& [key, value] : input.entries()) {
    const std::string* renamed = schema.renamed_to(key);
    if (renamed && *renamed == name) return &value;
  }
  return nullptr;
}

class Validator {
 public:
  explicit Validator(const Registry& registry) : registry_(registry) {}

  Node section(const Node& input, const Schema& schema, const std::string& path,
               const Origin& origin) {
    if (!input.is_map() && !input.is_null()) {
      throw ConfigError(input.origin().str() + ": " + (path.empty() ? "config" : path) +
                        ": expected a map of keys, got " + input.describe());
    }
    std::vector<std::string> known;
    for (const auto& o : schema.options())
      known.push_back(o.name);
    for (const auto& [key, value] : input.entries()) {
      if (const std::string* renamed = schema.renamed_to(key)) {
        if (input.find(*renamed)) {
          throw ConfigError(value.origin().str() + ": '" + child_path(path, key) +
                            "' is the old name of '" + child_path(path, *renamed) +
                            "'; give only '" + *renamed + "'");
        }
        continue;
      }
      if (!schema.find(key)) {
        const std::string suggestion = closest_match(key, known);
        std::string message =
            value.origin().str() + ": unknown key '" + child_path(path, key) + "'";
        if (!suggestion.empty()) {
          message += " (did you mean '" + child_path(path, suggestion) + "'?)";
        } else if (!known.empty()) {
          message += " (valid keys here: " + join(known) + ")";
        }
        throw ConfigError(message);
      }
    }
    Node out = Node::map(input.is_map() ? input.origin() : origin);
    for (const auto& spec : schema.options()) {
      const std::string key_path = child_path(path, spec.name);
      const Node* given = input.is_map() ? given_value(input, schema, spec.name) : nullptr;
      if (!given) {
        if (spec.required) {
          throw ConfigError(out.origin().str() + ": missing required key '" + key_path + "' (" +
                            spec.doc + ")");
        }
        Node def = spec.default_value;
        def.set_origin(Origin{"default", 0});
        out.set(spec.name, value(def, spec, key_path));
      } else {
        out.set(spec.name, value(*given, spec, key_path));
      }
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const Node& node, const std::string& path, const std::string& expected) {
    throw ConfigError(node.origin().str() + ": " + path + ": expected " + expected + ", got " +
                      node.describe());
  }

  std::string bounds(const OptionSpec& spec, bool integer) const {
    const bool lo = std::isfinite(spec.min), hi = std::isfinite(spec.max);
    if (lo && hi) return " in [" + format_number(spec.min) + ", " + format_number(spec.max) + "]";
    if (lo) return std::string(integer ? " >= " : " >= ") + format_number(spec.min);
    if (hi) return " <= " + format_number(spec.max);
    return "";
  }

  Node number(const Node& node, const OptionSpec& spec, const std::string& path, bool integer) {
    const std::string expected = (integer ? "an integer" : "a number") + bounds(spec, integer);
    if (!node.is_scalar()) fail(node, path, expected);
    double v = 0;
    std::int64_t i = 0;
    if (integer) {
      if (!parse_int(node.text(), i)) fail(node, path, expected);
      v = static_cast<double>(i);
    } else if (!parse_float(node.text(), v)) {
      fail(node, path, expected);
    }
    if (v < spec.min || v > spec.max) fail(node, path, expected);
    // Canonical text, so that equal configs resolve to equal YAML.
    return Node::scalar(integer ? std::to_string(i) : format_number(v), node.origin());
  }

  Node value(const Node& node, const OptionSpec& spec, const std::string& path) {
    if (node.is_null() && spec.type != ValueType::Section) {
      if (spec.nullable) return Node::null(node.origin());
      fail(node, path, "a value (" + spec.type_name() + ")");
    }
    switch (spec.type) {
      case ValueType::Bool: {
        bool b = false;
        if (!node.is_scalar() || !parse_bool(node.text(), b)) fail(node, path, "true or false");
        return Node::scalar(b ? "true" : "false", node.origin());
      }
      case ValueType::Int:
        return number(node, spec, path, true);
      case ValueType::Float:
        return number(node, spec, path, false);
      case ValueType::String:
        if (!node.is_scalar()) fail(node, path, "a string");
        return node;
      case ValueType::Choice: {
        if (!node.is_scalar()) fail(node, path, "one of: " + join(spec.choices));
        if (std::find(spec.choices.begin(), spec.choices.end(), node.text()) ==
            spec.choices.end()) {
          const std::string s = closest_match(node.text(), spec.choices);
          fail(node, path,
               "one of: " + join(spec.choices) + (s.empty() ? "" : " (did you mean '" + s + "'?)"));
        }
        return node;
      }
      case ValueType::IntList:
      case ValueType::FloatList: {
        const bool integer = spec.type == ValueType::IntList;
        std::string expected = std::string("a list of ") + (integer ? "integers" : "numbers");
        if (spec.min_items == spec.max_items) {
          expected += " with " + std::to_string(spec.min_items) + " items";
        } else if (spec.min_items > 0 || spec.max_items != static_cast<std::size_t>(-1)) {
          expected += " with " + std::to_string(spec.min_items) + " to " +
                      std::to_string(spec.max_items) + " items";
        }
        expected += bounds(spec, integer);
        Node list = Node::sequence(node.origin());
        if (node.is_scalar()) {
          list.push_back(number(node, spec, path, integer));  // a single number is a list of one
        } else if (node.is_sequence()) {
          for (std::size_t i = 0; i < node.items().size(); ++i) {
            list.push_back(
                number(node.items()[i], spec, path + "[" + std::to_string(i) + "]", integer));
          }
        } else {
          fail(node, path, expected);
        }
        if (list.items().size() < spec.min_items || list.items().size() > spec.max_items) {
          fail(node, path, expected);
        }
        return list;
      }
      case ValueType::Section:
        return section(node, *spec.section, path, node.origin());
      case ValueType::Component: {
        const Node* default_name = spec.default_value.find("name");
        return component(node, spec.component_kind, path,
                         default_name ? default_name->text() : std::string());
      }
      case ValueType::ComponentList: {
        if (!node.is_sequence()) fail(node, path, "a list of " + spec.component_kind + "s");
        Node list = Node::sequence(node.origin());
        for (std::size_t i = 0; i < node.items().size(); ++i) {
          list.push_back(component(node.items()[i], spec.component_kind,
                                   path + "[" + std::to_string(i) + "]", ""));
        }
        return list;
      }
    }
    return node;
  }

  // A map without `name` configures the default component, when the option has one.
  Node component(const Node& node, const std::string& kind, const std::string& path,
                 const std::string& default_name) {
    std::string name;
    Node options = Node::map(node.origin());
    if (node.is_scalar()) {
      name = node.text();
    } else if (node.is_map()) {
      const Node* n = node.find("name");
      if (n && n->is_scalar()) {
        name = n->text();
      } else if (!n && !default_name.empty()) {
        name = default_name;
      } else {
        throw ConfigError(node.origin().str() + ": " + path + ": a " + kind +
                          " needs a 'name' (one of: " + join(registry_.names(kind)) + ")");
      }
      for (const auto& [key, value] : node.entries()) {
        if (key != "name") options.set(key, value);
      }
    } else {
      fail(node, path, "a " + kind + " name or a map with 'name'");
    }
    const ComponentInfo* info = registry_.find(kind, name);
    if (!info) {
      const auto names = registry_.names(kind);
      const std::string s = closest_match(name, names);
      throw ConfigError(
          node.origin().str() + ": " + path + ": unknown " + kind + " '" + name + "'" +
          (s.empty() ? " (known: " + join(names) + ")" : " (did you mean '" + s + "'?)"));
    }
    Node resolved = section(options, info->options, path, node.origin());
    Node out = Node::map(node.origin());
    out.set("name", Node::scalar(name, node.origin()));
    for (const auto& [key, value] : resolved.entries())
      out.set(key, value);
    return out;
  }

  const Registry& registry_;
};

}  // namespace

Node validate(const Node& root, const Schema& schema, const Registry& registry) {
  return Validator(registry).section(root, schema, "", root.origin());
}

// ---------------------------------------------------------------- typed access

const Node& Options::at(const std::string& key) const {
  const Node* n = node_ && node_->is_map() ? node_->find(key) : nullptr;
  if (!n) throw std::logic_error("config key '" + child_path(path_, key) + "' is not declared");
  return *n;
}

bool Options::is_null(const std::string& key) const {
  return at(key).is_null();
}

bool Options::boolean(const std::string& key) const {
  bool b = false;
  if (!parse_bool(at(key).text(), b)) throw std::logic_error(child_path(path_, key) + ": not bool");
  return b;
}

std::int64_t Options::integer(const std::string& key) const {
  std::int64_t v = 0;
  if (!parse_int(at(key).text(), v)) throw std::logic_error(child_path(path_, key) + ": not int");
  return v;
}

double Options::real(const std::string& key) const {
  double v = 0;
  if (!parse_float(at(key).text(), v)) {
    throw std::logic_error(child_path(path_, key) + ": not a number");
  }
  return v;
}

const std::string& Options::string(const std::string& key) const {
  return at(key).text();
}

std::vector<std::int64_t> Options::integers(const std::string& key) const {
  std::vector<std::int64_t> out;
  for (const auto& item : at(key).items()) {
    std::int64_t v = 0;
    if (!parse_int(item.text(), v)) throw std::logic_error(child_path(path_, key) + ": not ints");
    out.push_back(v);
  }
  return out;
}

std::vector<double> Options::reals(const std::string& key) const {
  std::vector<double> out;
  for (const auto& item : at(key).items()) {
    double v = 0;
    if (!parse_float(item.text(), v)) {
      throw std::logic_error(child_path(path_, key) + ": not numbers");
    }
    out.push_back(v);
  }
  return out;
}

Options Options::section(const std::string& key) const {
  return Options(&at(key), child_path(path_, key));
}

Options ComponentConfig::options() const {
  return Options(node, path);
}

ComponentConfig Options::component(const std::string& key) const {
  const Node& n = at(key);
  if (n.is_null()) throw std::logic_error(child_path(path_, key) + ": component is disabled");
  return ComponentConfig{n.find("name")->text(), &n, child_path(path_, key)};
}

std::vector<ComponentConfig> Options::components(const std::string& key) const {
  std::vector<ComponentConfig> out;
  const auto& items = at(key).items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back(ComponentConfig{items[i].find("name")->text(), &items[i],
                                  child_path(path_, key) + "[" + std::to_string(i) + "]"});
  }
  return out;
}

// ---------------------------------------------------------------- Config

Config Config::load(const std::string& path, const std::vector<std::string>& overrides,
                    const Schema& schema) {
  Node root = load_file(path);
  for (const auto& o : overrides)
    apply_override(root, o);
  return from_node(root, schema);
}

Config Config::from_node(const Node& root, const Schema& schema) {
  Config c;
  c.resolved_ = validate(root, schema);
  return c;
}

std::string Config::to_yaml() const {
  return config::to_yaml(resolved_);
}

}  // namespace augcore::config

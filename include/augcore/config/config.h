// Loading a config (files with _base_, --set overrides), strict validation, and typed access.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/config/node.h"
#include "augcore/config/registry.h"
#include "augcore/config/schema.h"

namespace augcore::config {

// Reads a YAML config file and the files its `_base_` key names (paths relative to the file
// naming them), merging each file over its bases. Throws ConfigError.
Node load_file(const std::string& path);

// Applies one `key.path=value` override (value parsed as YAML; list items by number).
void apply_override(Node& root, const std::string& assignment);

// Checks `root` against `schema` and the registry: unknown keys (with a suggestion), types,
// ranges, choices, component names. Returns the tree with every default filled in.
Node validate(const Node& root, const Schema& schema,
              const Registry& registry = Registry::global());

class Options;

// A validated component: its registered name and its options.
struct ComponentConfig {
  std::string name;
  const Node* node = nullptr;
  std::string path;
  Options options() const;
};

// Typed read access to a validated (resolved) section. Asking for an undeclared key or the
// wrong type is a programming error (std::logic_error): validation already checked the file.
class Options {
 public:
  Options(const Node* node, std::string path) : node_(node), path_(std::move(path)) {}

  bool is_null(const std::string& key) const;
  bool boolean(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& string(const std::string& key) const;
  std::vector<std::int64_t> integers(const std::string& key) const;
  std::vector<double> reals(const std::string& key) const;
  Options section(const std::string& key) const;
  ComponentConfig component(const std::string& key) const;
  std::vector<ComponentConfig> components(const std::string& key) const;

  const Node& node() const { return *node_; }
  const std::string& path() const { return path_; }

 private:
  const Node& at(const std::string& key) const;
  const Node* node_;
  std::string path_;
};

// A fully loaded and validated config.
class Config {
 public:
  // Loads `path`, applies `overrides` in order and validates against `schema`.
  static Config load(const std::string& path, const std::vector<std::string>& overrides,
                     const Schema& schema);
  // Validates an in-memory tree (for defaults-only runs and tests).
  static Config from_node(const Node& root, const Schema& schema);

  Options root() const { return Options(&resolved_, ""); }
  const Node& resolved() const { return resolved_; }
  // The resolved config as YAML, as written into run directories.
  std::string to_yaml() const;

 private:
  Node resolved_;
};

// Edit distance, used for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);
// The closest candidate within a small edit distance, or "" when none is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace augcore::config

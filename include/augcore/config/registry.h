// The registry of named components (datasets, transforms, models, policies, ...) and their options.
#pragma once

#include <any>
#include <stdexcept>
#include <string>
#include <vector>

#include "augcore/config/schema.h"

namespace augcore::config {

// One registered component: what it is, its declared options, and its factory.
struct ComponentInfo {
  std::string kind;  // "dataset", "transform", ...
  std::string name;  // the name used in configs
  std::string doc;   // one line
  Schema options;    // declared options (besides `name`)
  std::any factory;  // a std::function whose signature the kind defines
};

class Registry {
 public:
  // The process-wide registry that components add themselves to at load time.
  static Registry& global();

  // Adds a component; a second component with the same kind and name is a programming error.
  void add(ComponentInfo info);
  const ComponentInfo* find(const std::string& kind, const std::string& name) const;
  // Components with this name (or "kind/name"), across kinds.
  std::vector<const ComponentInfo*> lookup(const std::string& name) const;
  // Every component of `kind` (all kinds when empty), sorted by kind then name.
  std::vector<const ComponentInfo*> list(const std::string& kind = "") const;
  // Registered names of one kind, sorted.
  std::vector<std::string> names(const std::string& kind) const;

  // The factory of a component, cast to the signature its kind uses.
  template <class Factory>
  const Factory& factory(const std::string& kind, const std::string& name) const {
    const ComponentInfo* info = find(kind, name);
    if (!info) throw std::logic_error("no " + kind + " named '" + name + "' is registered");
    const auto* f = std::any_cast<Factory>(&info->factory);
    if (!f) throw std::logic_error("factory type mismatch for " + kind + " '" + name + "'");
    return *f;
  }

 private:
  std::vector<ComponentInfo> components_;
};

// Registers into the global registry; returns true so it can initialise a static.
template <class Factory>
bool register_component(const std::string& kind, const std::string& name, const std::string& doc,
                        Schema options, Factory factory) {
  Registry::global().add(ComponentInfo{kind, name, doc, std::move(options), std::move(factory)});
  return true;
}

// Human-readable documentation of one component (its options, types, defaults, docs).
std::string describe_component(const ComponentInfo& info);
// One line per registered component, grouped by kind.
std::string describe_registry(const Registry& registry);

}  // namespace augcore::config

#include "augcore/config/registry.h"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace augcore::config {

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

void Registry::add(ComponentInfo info) {
  if (find(info.kind, info.name)) {
    throw std::logic_error(info.kind + " '" + info.name + "' registered twice");
  }
  components_.push_back(std::move(info));
}

const ComponentInfo* Registry::find(const std::string& kind, const std::string& name) const {
  for (const auto& c : components_) {
    if (c.kind == kind && c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const ComponentInfo*> Registry::lookup(const std::string& name) const {
  std::vector<const ComponentInfo*> found;
  for (const auto& c : components_) {
    if (c.name == name || c.kind + "/" + c.name == name) found.push_back(&c);
  }
  return found;
}

std::vector<const ComponentInfo*> Registry::list(const std::string& kind) const {
  std::vector<const ComponentInfo*> out;
  for (const auto& c : components_) {
    if (kind.empty() || c.kind == kind) out.push_back(&c);
  }
  std::sort(out.begin(), out.end(), [](const ComponentInfo* a, const ComponentInfo* b) {
    return std::tie(a->kind, a->name) < std::tie(b->kind, b->name);
  });
  return out;
}

std::vector<std::string> Registry::names(const std::string& kind) const {
  std::vector<std::string> out;
  for (const auto* c : list(kind))
    out.push_back(c->name);
  return out;
}

namespace {

void describe_options(std::ostringstream& out, const Schema& schema, const std::string& prefix) {
  for (const auto& o : schema.options()) {
    out << "  " << prefix << o.name << " (" << o.type_name() << ", default " << o.default_text()
        << "): " << o.doc << "\n";
    if (o.type == ValueType::Section && o.section) {
      describe_options(out, *o.section, prefix + o.name + ".");
    }
  }
}

}  // namespace

std::string describe_component(const ComponentInfo& info) {
  std::ostringstream out;
  out << info.kind << " '" << info.name << "': " << info.doc << "\n";
  if (info.options.options().empty()) {
    out << "  (no options)\n";
  } else {
    out << "options:\n";
    describe_options(out, info.options, "");
  }
  return out.str();
}

std::string describe_registry(const Registry& registry) {
  std::ostringstream out;
  std::string kind;
  for (const auto* c : registry.list()) {
    if (c->kind != kind) {
      kind = c->kind;
      out << (kind.back() == 'y' ? kind.substr(0, kind.size() - 1) + "ies" : kind + "s") << ":\n";
    }
    out << "  " << c->name;
    for (std::size_t pad = c->name.size(); pad < 24; ++pad)
      out << ' ';
    out << c->doc << "\n";
  }
  return out.str();
}

}  // namespace augcore::config

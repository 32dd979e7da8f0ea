#include "augcore/config/node.h"

#include <algorithm>

namespace augcore::config {

std::string Origin::str() const {
  if (line > 0) return source + ":" + std::to_string(line);
  return source;
}

Node Node::null(Origin origin) {
  Node n;
  n.origin_ = std::move(origin);
  return n;
}

Node Node::scalar(std::string value, Origin origin) {
  Node n;
  n.kind_ = Kind::Scalar;
  n.text_ = std::move(value);
  n.origin_ = std::move(origin);
  return n;
}

Node Node::sequence(Origin origin) {
  Node n;
  n.kind_ = Kind::Sequence;
  n.origin_ = std::move(origin);
  return n;
}

Node Node::map(Origin origin) {
  Node n;
  n.kind_ = Kind::Map;
  n.origin_ = std::move(origin);
  return n;
}

const Node* Node::find(const std::string& key) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.first == key; });
  return it == entries_.end() ? nullptr : &it->second;
}

Node* Node::find(const std::string& key) {
  return const_cast<Node*>(static_cast<const Node*>(this)->find(key));
}

Node& Node::set(const std::string& key, Node value) {
  if (Node* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  entries_.emplace_back(key, std::move(value));
  return entries_.back().second;
}

bool Node::erase(const std::string& key) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.first == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::string Node::describe() const {
  switch (kind_) {
    case Kind::Null:
      return "null";
    case Kind::Scalar:
      return "'" + text_ + "'";
    case Kind::Sequence:
      return "a list";
    case Kind::Map:
      return "a map";
  }
  return "?";
}

void merge_into(Node& base, const Node& over) {
  if (!base.is_map() || !over.is_map()) {
    base = over;
    return;
  }
  for (const auto& [key, value] : over.entries()) {
    if (Node* existing = base.find(key)) {
      merge_into(*existing, value);
    } else {
      base.set(key, value);
    }
  }
}

}  // namespace augcore::config

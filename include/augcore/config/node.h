// A YAML-like configuration tree whose every node remembers the file and line it came from.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace augcore::config {

// Where a value was written: a file and 1-based line, or a command-line override.
struct Origin {
  std::string source;  // file path, or "--set key=value"
  int line = 0;        // 0 when the source has no lines

  // "file:line" (or the source alone when it has no line).
  std::string str() const;
};

class Node {
 public:
  enum class Kind { Null, Scalar, Sequence, Map };
  using Entry = std::pair<std::string, Node>;

  Node() = default;
  static Node null(Origin origin = {});
  static Node scalar(std::string value, Origin origin = {});
  static Node sequence(Origin origin = {});
  static Node map(Origin origin = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_map() const { return kind_ == Kind::Map; }
  const Origin& origin() const { return origin_; }
  void set_origin(Origin origin) { origin_ = std::move(origin); }

  // Scalar text (empty for non-scalars).
  const std::string& text() const { return text_; }

  // Sequence items.
  const std::vector<Node>& items() const { return items_; }
  std::vector<Node>& items() { return items_; }
  void push_back(Node item) { items_.push_back(std::move(item)); }

  // Map entries in the order they were written.
  const std::vector<Entry>& entries() const { return entries_; }
  const Node* find(const std::string& key) const;
  Node* find(const std::string& key);
  // Inserts or replaces the value under key; returns the stored node.
  Node& set(const std::string& key, Node value);
  bool erase(const std::string& key);

  // Short description of the value for error messages ("'abc'", "a map", ...).
  std::string describe() const;

 private:
  Kind kind_ = Kind::Null;
  std::string text_;
  std::vector<Node> items_;
  std::vector<Entry> entries_;
  Origin origin_;
};

// Deep merge: maps merge key by key, everything else in `over` replaces `base`.
void merge_into(Node& base, const Node& over);

}  // namespace augcore::config

#include "augcore/config/yaml_io.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "augcore/core/error.h"

namespace augcore::config {
namespace {

Origin origin_of(const YAML::Mark& mark, const std::string& source) {
  return Origin{source, mark.is_null() ? 0 : mark.line + 1};
}

// Bounds on the tree a document expands to: aliases are copied where they are used, so a few
// lines of anchors can name an exponentially large (or, through a cycle, endless) tree.
constexpr std::size_t kMaxValues = 100000;
constexpr int kMaxDepth = 64;

struct Expansion {
  const std::string& source;
  std::size_t values = 0;
};

Node convert(const YAML::Node& y, const Origin& origin, Expansion& expansion, int depth) {
  if (++expansion.values > kMaxValues || depth > kMaxDepth) {
    throw ConfigError(origin.str() + ": the config expands to more than " +
                      (depth > kMaxDepth ? std::to_string(kMaxDepth) + " nested levels"
                                         : std::to_string(kMaxValues) + " values") +
                      " (YAML aliases repeating each other?)");
  }
  const std::string& source = expansion.source;
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Node::null(origin);
    case YAML::NodeType::Scalar:
      return Node::scalar(y.Scalar(), origin);
    case YAML::NodeType::Sequence: {
      Node seq = Node::sequence(origin);
      for (const auto& item : y)
        seq.push_back(convert(item, origin_of(item.Mark(), source), expansion, depth + 1));
      return seq;
    }
    case YAML::NodeType::Map: {
      Node map = Node::map(origin);
      for (const auto& kv : y) {
        Origin key_origin = origin_of(kv.first.Mark(), source);
        if (!kv.first.IsScalar()) {
          throw ConfigError(key_origin.str() + ": map keys must be plain names");
        }
        const std::string key = kv.first.Scalar();
        if (map.find(key)) {
          throw ConfigError(key_origin.str() + ": duplicate key '" + key + "'");
        }
        map.set(key, convert(kv.second, key_origin, expansion, depth + 1));
      }
      return map;
    }
  }
  return Node::null(origin);
}

void emit(YAML::Emitter& out, const Node& node) {
  switch (node.kind()) {
    case Node::Kind::Null:
      out << YAML::Null;
      break;
    case Node::Kind::Scalar:
      out << node.text();
      break;
    case Node::Kind::Sequence: {
      bool flat = true;
      for (const auto& item : node.items())
        flat = flat && item.is_scalar();
      out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
      for (const auto& item : node.items())
        emit(out, item);
      out << YAML::EndSeq;
      break;
    }
    case Node::Kind::Map:
      out << YAML::Block << YAML::BeginMap;
      for (const auto& [key, value] : node.entries()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

Node parse_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin_of(e.mark, source).str() + ": not valid YAML: " + e.msg);
  }
  if (root.IsNull() || !root.IsDefined()) return Node::map(Origin{source, 1});
  if (!root.IsMap()) {
    throw ConfigError(origin_of(root.Mark(), source).str() +
                      ": the top level of a config must be a map of keys");
  }
  Expansion expansion{source};
  return convert(root, Origin{source, 1}, expansion, 0);
}

Node parse_yaml_value(const std::string& text, const Origin& origin) {
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin.str() + ": not a valid YAML value: " + e.msg);
  }
  Expansion expansion{origin.source};
  return convert(value, origin, expansion, 0);
}

Node read_yaml_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError("config file '" + path + "' is not a regular file" +
                      (std::filesystem::is_directory(path, ec) ? " (it is a directory)" : ""));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml(buffer.str(), path);
}

std::string to_yaml(const Node& node) {
  YAML::Emitter out;
  emit(out, node);
  return std::string(out.c_str()) + "\n";
}

}  // namespace augcore::config

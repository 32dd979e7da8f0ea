// Reading YAML text into a config Node (with line numbers) and writing a Node back as YAML.
#pragma once

#include <string>

#include "augcore/config/node.h"

namespace augcore::config {

// Parses YAML text; `source` names it in errors. Throws ConfigError on malformed YAML.
Node parse_yaml(const std::string& text, const std::string& source);

// Parses a single YAML value (scalar, flow list or map), as given to --set.
Node parse_yaml_value(const std::string& text, const Origin& origin);

// Reads and parses a YAML file. Throws ConfigError if it cannot be read or parsed.
Node read_yaml_file(const std::string& path);

// Block-style YAML for a tree; scalars are quoted where YAML would misread them.
std::string to_yaml(const Node& node);

}  // namespace augcore::config

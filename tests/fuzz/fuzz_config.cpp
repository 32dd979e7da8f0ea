// Fuzz target: the config loader. Input: YAML text, then after a NUL byte one --set override
// per line. Whatever is accepted must also survive writing it back as YAML and reading it
// again (the round trip a checkpoint's config makes).
#include <cstdint>
#include <sstream>

#include "augcore/config/config.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/train/tasks/recipe.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace augcore;
  static const config::Schema schema = train::recipe_schema();
  const auto [yaml, overrides] = fuzz::split(data, size, '\0');
  config::Config resolved;
  try {
    config::Node root = config::parse_yaml(yaml, "fuzz.yaml");
    std::istringstream lines(overrides);
    for (std::string line; std::getline(lines, line);)
      config::apply_override(root, line);
    resolved = config::Config::from_node(root, schema);
  } catch (const ConfigError&) {
    return 0;
  }
  const std::string written = resolved.to_yaml();
  const config::Config again =
      config::Config::from_node(config::parse_yaml(written, "written.yaml"), schema);
  if (again.to_yaml() != written) __builtin_trap();
  return 0;
}

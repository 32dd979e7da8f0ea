// Fuzz target: the .pth / checkpoint reader and what is read from a checkpoint: the state
// dict into a ResNet-20, the optimizer state, the run's position. Whatever loads must also
// survive being written again and re-read (the reader and writer agree).
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "augcore/config/config.h"
#include "augcore/config/yaml_io.h"
#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/models/classifier.h"
#include "augcore/models/model_registry.h"
#include "augcore/models/state_dict.h"
#include "augcore/train/state/checkpoint.h"
#include "augcore/train/state/optimizer_registry.h"
#include "augcore/train/tasks/recipe.h"

namespace {

struct Target {
  std::shared_ptr<augcore::models::ClassifierImpl> model;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};

Target& target() {
  using namespace augcore;
  static Target t = [] {
    const config::Config cfg = config::Config::from_node(
        config::parse_yaml("model: {name: resnet20}\n", "fuzz"), train::recipe_schema());
    Target made;
    made.model = models::make_model(cfg.root().component("model"), {1, 10, 28});
    made.optimizer = train::make_optimizer(cfg.root().component("optimizer"), *made.model, 0.1);
    return made;
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace augcore;
  const std::vector<char> bytes(data, data + size);
  c10::IValue value;
  try {
    value = pth::load_bytes(bytes, "fuzz.pth");
  } catch (const DataError&) {
    return 0;
  }
  const c10::IValue again = pth::load_bytes(pth::save_bytes(value), "written.pth");
  if (again.tagKind() != value.tagKind()) __builtin_trap();
  if (!value.isGenericDict()) return 0;
  const auto dict = value.toGenericDict();
  try {
    models::load_state_dict(*target().model, models::find_state_dict(value, "fuzz.pth"), true);
  } catch (const DataError&) {
  }
  try {
    train::load_optimizer_state(*target().optimizer, train::entry(dict, "optimizer", "fuzz.pth"));
  } catch (const DataError&) {
  }
  try {
    train::read_progress(dict, "fuzz.pth");
  } catch (const DataError&) {
  }
  return 0;
}

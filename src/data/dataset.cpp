#include "augcore/data/dataset.h"

namespace augcore::data {

std::shared_ptr<Dataset> make_dataset(const config::ComponentConfig& component) {
  const auto& factory =
      config::Registry::global().factory<DatasetFactory>("dataset", component.name);
  return factory(component.options());
}

void add_common_dataset_options(config::Schema& schema) {
  schema.add_int("channels", 0, "output channels: 0 = as stored, 1 = grey, 3 = RGB").range(0, 3);
}

}  // namespace augcore::data

// A trainer outside augcore that uses its recipe config and data loader.
#include <ATen/ATen.h>

#include <augcore/config/config.h>
#include <augcore/core/error.h>
#include <augcore/data/pipeline.h>
#include <augcore/train/recipe.h>

#include <iostream>

int main() {
  using namespace augcore;
  try {
    config::Node recipe = config::Node::map();
    config::apply_override(recipe, "data.loader.batch_size=64");
    config::apply_override(
        recipe, "data.train_transforms=[{name: random_crop, size: 28, padding: 2}, hflip]");
    const auto cfg = config::Config::from_node(recipe, train::recipe_schema());
    auto loader = data::make_loader(cfg.root().section("data"), data::Split::kTrain, 0);
    loader->start_epoch(0);
    const auto batch = loader->next();
    // Only uint8 crosses the loader; the trainer converts on its own device.
    const at::Tensor x = batch->images.to(at::kFloat).div_(255);
    std::cout << "external_trainer: batch " << x.sizes() << " mean pixel " << x.mean().item<float>()
              << " from " << loader->dataset().description() << "\n";
    return 0;
  } catch (const UsageError& e) {
    std::cerr << e.category() << ": " << e.what() << "\n";
    return kUsageExitCode;
  }
}

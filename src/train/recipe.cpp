#include "augcore/train/recipe.h"

#include "augcore/data/pipeline.h"

namespace augcore::train {

config::Schema recipe_schema() {
  config::Schema train;
  train.add_int("epochs", 1, "passes over the training set").range(1, 1000000);

  config::Schema s;
  s.add_int("seed", 0, "seed of every random stream (loader, transforms, policies)")
      .range(0, 9.0e15);
  s.add_int("threads", 0, "intra-op CPU threads; 0 = one per core").range(0, 1024);
  s.add_string("output", "", "run directory; empty = runs/<config file name>");
  s.add_section("data", data::data_schema(), "datasets, transforms and loader");
  s.add_section("train", train, "training loop");
  return s;
}

}  // namespace augcore::train

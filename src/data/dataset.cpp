#include "augcore/data/dataset.h"

#include <fmt/core.h>

#include <algorithm>
#include <vector>

#include "augcore/data/subset.h"
#include "augcore/data/transforms.h"

#include "augcore/core/error.h"

namespace augcore::data {
namespace {

// `limit` samples spread evenly over a dataset (every class of a sorted one is kept).
class EvenSubset : public Dataset {
 public:
  EvenSubset(std::shared_ptr<Dataset> base, std::size_t limit)
      : base_(std::move(base)), size_(std::min(limit, base_->size())) {}
  std::size_t size() const override { return size_; }
  Sample get(std::size_t index) const override { return base_->get(map(index)); }
  std::int64_t label(std::size_t index) const override { return base_->label(map(index)); }
  std::int64_t num_classes() const override { return base_->num_classes(); }
  std::string description() const override {
    return base_->description() + ", " + std::to_string(size_) + " evenly spaced samples";
  }

 private:
  std::size_t map(std::size_t i) const { return i * base_->size() / size_; }
  std::shared_ptr<Dataset> base_;
  std::size_t size_;
};

}  // namespace

Sample Dataset::get_region(std::size_t index, const RegionChooser& choose) const {
  Sample s = get(index);
  s.image = crop(s.image, choose(s.image.height, s.image.width));
  return s;
}

std::shared_ptr<Dataset> make_dataset(const config::ComponentConfig& component) {
  const config::Options o = component.options();
  const auto& factory =
      config::Registry::global().factory<DatasetFactory>("dataset", component.name);
  auto dataset = factory(o);
  if (dataset->size() == 0) throw DataError(dataset->description() + ": holds no samples");
  const auto classes = o.integers("classes");
  if (!classes.empty()) {
    try {
      dataset = std::make_shared<ClassSubset>(std::move(dataset), classes);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(o.path() + ".classes: " + e.what());
    }
  }
  std::vector<std::size_t> class_sizes(static_cast<std::size_t>(dataset->num_classes()), 0);
  for (std::size_t i = 0; i < dataset->size(); ++i) {
    const std::int64_t label = dataset->label(i);
    if (label >= 0 && label < dataset->num_classes())
      ++class_sizes[static_cast<std::size_t>(label)];
  }
  // A dataset without any label (STL-10's unlabelled images, label -1) has no classes to fill.
  const bool unlabelled =
      std::all_of(class_sizes.begin(), class_sizes.end(), [](std::size_t n) { return n == 0; });
  const auto empty = std::find(class_sizes.begin(), class_sizes.end(), 0u);
  if (!unlabelled && empty != class_sizes.end()) {
    throw DataError(
        dataset->description() + ": class " + std::to_string(empty - class_sizes.begin()) + " of " +
        std::to_string(class_sizes.size()) + " has no samples (every class needs at least one)");
  }
  const std::int64_t holdout = o.integer("holdout_per_class");
  const bool holdout_only = o.boolean("holdout_only");
  if (holdout_only && holdout == 0) {
    throw ConfigError(o.path() + ".holdout_only: needs holdout_per_class (the images to hold out)");
  }
  if (holdout > 0) {
    // The validation split comes out first, so that no labelled or long-tailed subset drawn
    // from the rest can overlap it.
    const auto held =
        balanced_subset(*dataset, holdout, static_cast<std::uint64_t>(o.integer("holdout_seed")));
    auto indices = holdout_only ? held : complement(held, dataset->size());
    dataset = std::make_shared<IndexSubset>(
        std::move(dataset), std::move(indices),
        fmt::format(
            "images {} ({} per class{}, holdout_seed {})",
            holdout_only ? "of the held-out validation split" : "without the validation split",
            holdout, holdout_only ? "" : " held out", o.integer("holdout_seed")));
  }
  const auto limit = static_cast<std::size_t>(o.integer("limit"));
  const std::int64_t per_class = o.integer("labelled_per_class");
  if (per_class > 0 && limit > 0) {
    throw ConfigError(o.path() + ": `limit` and `labelled_per_class` cannot both be set");
  }
  const bool rest = o.boolean("labelled_rest");
  if (rest && per_class == 0) {
    throw ConfigError(o.path() +
                      ".labelled_rest: needs labelled_per_class (the subset to leave out)");
  }
  if (per_class > 0) {
    auto indices =
        balanced_subset(*dataset, per_class, static_cast<std::uint64_t>(o.integer("subset_seed")));
    if (rest) indices = complement(indices, dataset->size());
    dataset = std::make_shared<IndexSubset>(
        std::move(dataset), std::move(indices),
        fmt::format("{} samples ({} per class, subset_seed {})", rest ? "unlabelled" : "labelled",
                    rest ? "all but " + std::to_string(per_class) : std::to_string(per_class),
                    o.integer("subset_seed")));
  }
  const double imbalance = o.real("long_tail_imbalance");
  if (imbalance > 0 && (per_class > 0 || limit > 0)) {
    throw ConfigError(o.path() + ": `long_tail_imbalance` cannot be combined with " +
                      (per_class > 0 ? "`labelled_per_class`" : "`limit`"));
  }
  if (imbalance > 0 && imbalance < 1) {
    throw ConfigError(o.path() + ".long_tail_imbalance: " + fmt::format("{:g}", imbalance) +
                      " is below 1 (the ratio of the largest class to the smallest; 0 = off)");
  }
  if (imbalance > 0) {
    std::int64_t n_max = o.integer("long_tail_max");
    if (n_max == 0) {
      n_max = static_cast<std::int64_t>(*std::min_element(class_sizes.begin(), class_sizes.end()));
    }
    const auto counts = long_tail_counts(n_max, dataset->num_classes(), imbalance);
    if (counts.back() < 1) {
      throw ConfigError(o.path() + ".long_tail_imbalance: " + fmt::format("{:g}", imbalance) +
                        " leaves the last class empty when class 0 keeps " + std::to_string(n_max) +
                        " (use at most " + std::to_string(n_max) + ")");
    }
    auto indices =
        class_subset(*dataset, counts, static_cast<std::uint64_t>(o.integer("subset_seed")),
                     o.path() + ".long_tail_max's profile");
    dataset = std::make_shared<IndexSubset>(
        std::move(dataset), std::move(indices),
        fmt::format("long-tailed ({} down to {} per class, imbalance {:g}, subset_seed {})",
                    counts.front(), counts.back(), imbalance, o.integer("subset_seed")));
  }
  if (limit > 0 && limit < dataset->size()) {
    dataset = std::make_shared<EvenSubset>(std::move(dataset), limit);
  }
  return dataset;
}

void add_common_dataset_options(config::Schema& schema) {
  schema.add_int("channels", 0, "output channels: 0 = as stored, 1 = grey, 3 = RGB").range(0, 3);
  schema
      .add_ints("classes", {},
                "keep only these classes, relabelled 0, 1, ... in this order (few-shot base or "
                "novel splits); empty = all")
      .range(0, 1LL << 40);
  schema.add_int("limit", 0, "use only this many samples, evenly spaced; 0 = all")
      .range(0, 1LL << 40);
  schema
      .add_int("holdout_per_class", 0,
               "hold this many samples of every class out as a validation split (drawn with "
               "holdout_seed before any other subset); 0 = none")
      .range(0, 1LL << 40);
  schema.add_bool("holdout_only", false,
                  "keep only the held-out validation samples (for data.val) instead of the rest");
  schema.add_int("holdout_seed", 0, "seed of the holdout_per_class draw").range(0, 9.0e15);
  schema
      .add_int("labelled_per_class", 0,
               "use only this many samples of every class, drawn with subset_seed; 0 = all")
      .range(0, 1LL << 40);
  schema.add_bool("labelled_rest", false,
                  "keep the samples labelled_per_class leaves out instead (the unlabelled rest)");
  schema
      .add_int("subset_seed", 0,
               "seed of the labelled_per_class or long-tail draw (not the run's seed)")
      .range(0, 9.0e15);
  schema
      .add_float("long_tail_imbalance", 0,
                 "keep an exponential long-tailed subset: class c keeps long_tail_max x "
                 "imbalance^(-c/(C-1)) samples; 0 = off")
      .range(0, 1e6);
  schema
      .add_int("long_tail_max", 0,
               "samples of class 0 in the long-tailed subset; 0 = the smallest class's size")
      .range(0, 1LL << 40);
}

}  // namespace augcore::data

#include "augcore/data/subset.h"

#include <algorithm>
#include <utility>

#include "augcore/core/error.h"
#include "augcore/data/rng.h"

namespace augcore::data {

std::vector<std::size_t> balanced_subset(const Dataset& dataset, std::int64_t per_class,
                                         std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(dataset.num_classes()));
  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const std::int64_t label = dataset.label(i);
    if (label >= 0 && label < dataset.num_classes()) {
      by_class[static_cast<std::size_t>(label)].push_back(i);
    }
  }
  Rng rng(seed);
  std::vector<std::size_t> out;
  out.reserve(by_class.size() * static_cast<std::size_t>(per_class));
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    auto& pool = by_class[c];
    if (static_cast<std::int64_t>(pool.size()) < per_class) {
      throw DataError(dataset.description() + ": class " + std::to_string(c) + " holds " +
                      std::to_string(pool.size()) +
                      " samples, fewer than labelled_per_class = " + std::to_string(per_class));
    }
    for (std::int64_t k = 0; k < per_class; ++k) {
      const auto j =
          static_cast<std::size_t>(rng.randint(k, static_cast<std::int64_t>(pool.size())));
      std::swap(pool[static_cast<std::size_t>(k)], pool[j]);
      out.push_back(pool[static_cast<std::size_t>(k)]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::size_t> complement(const std::vector<std::size_t>& subset, std::size_t size) {
  std::vector<std::size_t> out;
  out.reserve(size - std::min(size, subset.size()));
  std::size_t next = 0;
  for (std::size_t i = 0; i < size; ++i) {
    while (next < subset.size() && subset[next] < i)
      ++next;
    if (next < subset.size() && subset[next] == i) continue;
    out.push_back(i);
  }
  return out;
}

IndexSubset::IndexSubset(std::shared_ptr<Dataset> base, std::vector<std::size_t> indices,
                         std::string what)
    : base_(std::move(base)), indices_(std::move(indices)), what_(std::move(what)) {}

Sample IndexSubset::get(std::size_t index) const {
  return base_->get(indices_.at(index));
}

Sample IndexSubset::get_region(std::size_t index, const RegionChooser& choose) const {
  return base_->get_region(indices_.at(index), choose);
}

std::int64_t IndexSubset::label(std::size_t index) const {
  return base_->label(indices_.at(index));
}

std::string IndexSubset::description() const {
  return base_->description() + ", " + std::to_string(indices_.size()) + " " + what_;
}

}  // namespace augcore::data

#include "augcore/data/subset.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "augcore/core/error.h"
#include "augcore/data/rng.h"

namespace augcore::data {

std::vector<std::int64_t> class_counts(const Dataset& dataset) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(dataset.num_classes()), 0);
  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const std::int64_t label = dataset.label(i);
    if (label >= 0 && label < dataset.num_classes()) ++counts[static_cast<std::size_t>(label)];
  }
  return counts;
}

std::vector<std::size_t> class_subset(const Dataset& dataset,
                                      const std::vector<std::int64_t>& counts, std::uint64_t seed,
                                      const std::string& option) {
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(dataset.num_classes()));
  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const std::int64_t label = dataset.label(i);
    if (label >= 0 && label < dataset.num_classes()) {
      by_class[static_cast<std::size_t>(label)].push_back(i);
    }
  }
  Rng rng(seed);
  std::vector<std::size_t> out;
  for (std::size_t c = 0; c < by_class.size() && c < counts.size(); ++c) {
    auto& pool = by_class[c];
    if (static_cast<std::int64_t>(pool.size()) < counts[c]) {
      throw DataError(dataset.description() + ": class " + std::to_string(c) + " holds " +
                      std::to_string(pool.size()) + " samples, fewer than " + option + " = " +
                      std::to_string(counts[c]));
    }
    for (std::int64_t k = 0; k < counts[c]; ++k) {
      const auto j =
          static_cast<std::size_t>(rng.randint(k, static_cast<std::int64_t>(pool.size())));
      std::swap(pool[static_cast<std::size_t>(k)], pool[j]);
      out.push_back(pool[static_cast<std::size_t>(k)]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::size_t> balanced_subset(const Dataset& dataset, std::int64_t per_class,
                                         std::uint64_t seed) {
  return class_subset(
      dataset,
      std::vector<std::int64_t>(static_cast<std::size_t>(dataset.num_classes()), per_class), seed,
      "labelled_per_class");
}

std::vector<std::int64_t> long_tail_counts(std::int64_t n_max, std::int64_t num_classes,
                                           double imbalance) {
  if (n_max < 1 || num_classes < 1 || !(imbalance >= 1)) {
    throw std::invalid_argument(
        "long_tail_counts: needs n_max >= 1, num_classes >= 1 and "
        "imbalance >= 1");
  }
  std::vector<std::int64_t> counts;
  for (std::int64_t c = 0; c < num_classes; ++c) {
    const double share =
        num_classes == 1 ? 1.0 : std::pow(imbalance, -static_cast<double>(c) / (num_classes - 1.0));
    counts.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(n_max) * share)));
  }
  return counts;
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

ClassSubset::ClassSubset(std::shared_ptr<Dataset> base, std::vector<std::int64_t> classes)
    : base_(std::move(base)),
      classes_(std::move(classes)),
      relabel_(static_cast<std::size_t>(base_->num_classes()), -1) {
  for (std::size_t k = 0; k < classes_.size(); ++k) {
    const std::int64_t c = classes_[k];
    if (c < 0 || c >= base_->num_classes()) {
      throw std::invalid_argument("class " + std::to_string(c) + " is outside [0, " +
                                  std::to_string(base_->num_classes()) + ")");
    }
    if (relabel_[static_cast<std::size_t>(c)] >= 0) {
      throw std::invalid_argument("class " + std::to_string(c) + " is listed twice");
    }
    relabel_[static_cast<std::size_t>(c)] = static_cast<std::int64_t>(k);
  }
  for (std::size_t i = 0; i < base_->size(); ++i) {
    const std::int64_t c = base_->label(i);
    if (c >= 0 && c < base_->num_classes() && relabel_[static_cast<std::size_t>(c)] >= 0) {
      indices_.push_back(i);
    }
  }
}

Sample ClassSubset::get(std::size_t index) const {
  Sample s = base_->get(indices_.at(index));
  s.label = relabel_[static_cast<std::size_t>(s.label)];
  return s;
}

Sample ClassSubset::get_region(std::size_t index, const RegionChooser& choose) const {
  Sample s = base_->get_region(indices_.at(index), choose);
  s.label = relabel_[static_cast<std::size_t>(s.label)];
  return s;
}

std::int64_t ClassSubset::label(std::size_t index) const {
  return relabel_[static_cast<std::size_t>(base_->label(indices_.at(index)))];
}

std::string ClassSubset::description() const {
  std::string list;
  for (const auto c : classes_)
    list += (list.empty() ? "" : ",") + std::to_string(c);
  return base_->description() + ", classes " + list;
}

}  // namespace augcore::data

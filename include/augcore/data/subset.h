// Subsets of any dataset drawn with a seed: N images of every class (labelled subsets) or a
// long-tailed profile of class sizes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

// `per_class` indices of every class, drawn without replacement (a partial Fisher-Yates
// shuffle of each class's indices under Rng(seed)), returned in ascending order. The same
// (dataset, per_class, seed) gives the same subset on every platform. Throws DataError naming
// the class when one holds fewer than `per_class` samples.
std::vector<std::size_t> balanced_subset(const Dataset& dataset, std::int64_t per_class,
                                         std::uint64_t seed);

// The number of samples of each class (labels outside [0, num_classes) are not counted).
std::vector<std::int64_t> class_counts(const Dataset& dataset);

// `counts[c]` indices of every class c, drawn as balanced_subset draws them (ascending order).
// Throws DataError naming the class, its size and "`option` = count" when a class holds fewer.
std::vector<std::size_t> class_subset(const Dataset& dataset,
                                      const std::vector<std::int64_t>& counts, std::uint64_t seed,
                                      const std::string& option);

// The class sizes of an exponential long-tail profile (Cao et al.'s CIFAR-LT): class c keeps
// floor(n_max × imbalance^(−c/(C−1))), so class 0 keeps n_max and the last n_max / imbalance.
// Throws std::invalid_argument unless n_max ≥ 1, num_classes ≥ 1 and imbalance ≥ 1.
std::vector<std::int64_t> long_tail_counts(std::int64_t n_max, std::int64_t num_classes,
                                           double imbalance);

// The indices of [0, size) that are not in `subset` (ascending; `subset` must be sorted): the
// unlabelled remainder of a labelled subset.
std::vector<std::size_t> complement(const std::vector<std::size_t>& subset, std::size_t size);

// A dataset made of some of another's samples, in the order given.
class IndexSubset : public Dataset {
 public:
  IndexSubset(std::shared_ptr<Dataset> base, std::vector<std::size_t> indices, std::string what);
  std::size_t size() const override { return indices_.size(); }
  Sample get(std::size_t index) const override;
  Sample get_region(std::size_t index, const RegionChooser& choose) const override;
  std::int64_t label(std::size_t index) const override;
  std::int64_t num_classes() const override { return base_->num_classes(); }
  std::string description() const override;
  const std::vector<std::size_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<Dataset> base_;
  std::vector<std::size_t> indices_;
  std::string what_;
};

// The samples of some classes of another dataset, relabelled by their position in `classes`
// (a few-shot base or novel split). Throws std::invalid_argument for a class outside the base's
// [0, num_classes) or one given twice.
class ClassSubset : public Dataset {
 public:
  ClassSubset(std::shared_ptr<Dataset> base, std::vector<std::int64_t> classes);
  std::size_t size() const override { return indices_.size(); }
  Sample get(std::size_t index) const override;
  Sample get_region(std::size_t index, const RegionChooser& choose) const override;
  std::int64_t label(std::size_t index) const override;
  std::int64_t num_classes() const override { return static_cast<std::int64_t>(classes_.size()); }
  std::string description() const override;

 private:
  std::shared_ptr<Dataset> base_;
  std::vector<std::int64_t> classes_;
  std::vector<std::int64_t> relabel_;  // base class → position in classes_, or -1
  std::vector<std::size_t> indices_;
};

}  // namespace augcore::data

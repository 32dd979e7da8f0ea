// Labelled subsets: N images of every class, drawn with a seed, from any dataset.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

// `per_class` indices of every class, drawn without replacement (a partial Fisher-Yates
// shuffle of each class's indices under Rng(seed)), returned in ascending order. The same
// (dataset, per_class, seed) gives the same subset on every platform. Throws DataError naming
// the class when one holds fewer than `per_class` samples.
std::vector<std::size_t> balanced_subset(const Dataset& dataset, std::int64_t per_class,
                                         std::uint64_t seed);

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

}  // namespace augcore::data

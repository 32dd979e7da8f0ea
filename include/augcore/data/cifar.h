// The CIFAR-10/100 dataset in its binary distribution format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

class CifarDataset : public Dataset {
 public:
  enum class Variant { kCifar10, kCifar100 };
  // files: the batch files to read in order; fine_labels picks CIFAR-100's 100 classes
  // (otherwise its 20 coarse ones).
  CifarDataset(const std::vector<std::string>& files, Variant variant, bool fine_labels,
               int channels);

  std::size_t size() const override { return labels_.size(); }
  Sample get(std::size_t index) const override;
  std::int64_t label(std::size_t index) const override { return labels_[index]; }
  std::int64_t num_classes() const override { return num_classes_; }
  std::string description() const override { return description_; }

  static constexpr int kSide = 32;
  static constexpr std::size_t kPixels = 3 * kSide * kSide;

 private:
  std::vector<std::uint8_t> pixels_;  // CHW planes, one image after another
  std::vector<std::int64_t> labels_;
  std::int64_t num_classes_ = 0;
  int channels_ = 0;
  std::string description_;
};

}  // namespace augcore::data

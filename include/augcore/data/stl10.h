// The STL-10 dataset in its binary distribution format (stl10_binary: *_X.bin, *_y.bin,
// fold_indices.txt), read image by image from the files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

class Stl10Dataset : public Dataset {
 public:
  static constexpr int kSide = 96;
  static constexpr std::size_t kBytes = 3 * kSide * kSide;

  // `images`: X files to read in order (3×96×96 bytes per image, each channel stored column by
  // column); `labels`: the matching y file (bytes 1–10) or "" for the unlabelled images, whose
  // label is -1. `keep`: indices into the images to use (a fold), or empty for all. Throws
  // DataError naming the file for a missing, empty or truncated file, a label outside 1–10, or
  // a label count that differs from the image count.
  Stl10Dataset(const std::vector<std::pair<std::string, std::string>>& files,
               std::vector<std::int64_t> keep, int channels);
  ~Stl10Dataset() override;

  std::size_t size() const override { return rows_.size(); }
  Sample get(std::size_t index) const override;
  std::int64_t label(std::size_t index) const override { return rows_[index].label; }
  std::int64_t num_classes() const override { return 10; }
  std::string description() const override { return description_; }

 private:
  struct Row {
    int file = 0;
    std::int64_t offset = 0;
    std::int64_t label = -1;
  };
  std::vector<int> fds_;
  std::vector<std::string> paths_;
  std::vector<Row> rows_;
  int channels_ = 0;
  std::string description_;
};

// The 10 training folds of fold_indices.txt: fold k's 1,000 (0-based) indices into train_X.
// Throws DataError naming the file and line for a missing file or a malformed index.
std::vector<std::vector<std::int64_t>> read_stl10_folds(const std::string& path);

}  // namespace augcore::data

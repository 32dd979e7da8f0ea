// The IDX dataset (MNIST, Fashion-MNIST): image and label files, optionally gzipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

// An IDX array of unsigned bytes: its dimensions and data.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an IDX file (gzip detected by its magic bytes). Throws DataError naming the file,
// the byte offset and what was expected when it is truncated or malformed.
IdxArray read_idx_file(const std::string& path);

// Parses IDX bytes already in memory; `name` is used in errors.
IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, const std::string& name);

// Reads a whole file, inflating it when it is gzip-compressed. Throws DataError.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);

class IdxDataset : public Dataset {
 public:
  // images: N×H×W (grey) or N×H×W×C; labels: N.
  IdxDataset(const std::string& images_path, const std::string& labels_path, int channels);

  std::size_t size() const override { return labels_.size(); }
  Sample get(std::size_t index) const override;
  std::int64_t label(std::size_t index) const override { return labels_[index]; }
  std::int64_t num_classes() const override { return num_classes_; }
  std::string description() const override { return description_; }

 private:
  IdxArray images_;
  std::vector<std::int64_t> labels_;
  int height_ = 0, width_ = 0, stored_channels_ = 1, channels_ = 0;
  std::int64_t num_classes_ = 0;
  std::string description_;
};

}  // namespace augcore::data

// The dataset interface (size, labelled uint8 images by index) and its registry factory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "augcore/config/config.h"
#include "augcore/data/image.h"

namespace augcore::data {

struct Sample {
  Image image;
  std::int64_t label = 0;
};

// One sample could not be read (unreadable or corrupt file); the loader replaces it.
class SampleError : public std::runtime_error {
 public:
  SampleError(std::string path, const std::string& reason)
      : std::runtime_error(path + ": " + reason), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A labelled image dataset. get() and label() must be safe to call from several threads.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  // The decoded sample; throws SampleError when this one sample cannot be read.
  virtual Sample get(std::size_t index) const = 0;
  // The sample cropped to the box `choose` picks from its size: get() and a crop, unless the
  // dataset can decode just that box.
  virtual Sample get_region(std::size_t index, const RegionChooser& choose) const;
  // The label alone, without decoding (used by samplers).
  virtual std::int64_t label(std::size_t index) const = 0;
  virtual std::int64_t num_classes() const = 0;
  // Where the data comes from, for logs.
  virtual std::string description() const = 0;
};

// The factory signature of registered datasets (kind "dataset").
using DatasetFactory = std::function<std::shared_ptr<Dataset>(const config::Options&)>;

// Builds the dataset a validated config component names (applying its `limit` or
// `labelled_per_class`). Throws
// DataError on bad files.
std::shared_ptr<Dataset> make_dataset(const config::ComponentConfig& component);

// Options every dataset declares: `channels` (0 = as stored, 1 = grey, 3 = RGB), `limit`, and
// `labelled_per_class` with its `subset_seed` (a balanced labelled subset).
void add_common_dataset_options(config::Schema& schema);

}  // namespace augcore::data

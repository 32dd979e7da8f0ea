// Datasets of image files on disk: ImageFolder (a folder per class) and file lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "augcore/data/dataset.h"

namespace augcore::data {

// Image files with known labels, decoded on each get().
class ImageFilesDataset : public Dataset {
 public:
  ImageFilesDataset(std::vector<std::string> paths, std::vector<std::int64_t> labels,
                    std::int64_t num_classes, int channels, std::string description);

  std::size_t size() const override { return paths_.size(); }
  Sample get(std::size_t index) const override;
  // JPEGs decode only the chosen box.
  Sample get_region(std::size_t index, const RegionChooser& choose) const override;
  std::int64_t label(std::size_t index) const override { return labels_[index]; }
  std::int64_t num_classes() const override { return num_classes_; }
  std::string description() const override { return description_; }
  const std::string& path(std::size_t index) const { return paths_[index]; }

 private:
  std::vector<std::string> paths_;
  std::vector<std::int64_t> labels_;
  std::int64_t num_classes_;
  int channels_;
  std::string description_;
};

// torchvision's ImageFolder layout: classes are the sorted sub-folder names of `root`;
// files are found recursively, in sorted order, keeping those whose lower-cased extension
// is in `extensions`. Throws DataError when root is missing or a class has no images.
ImageFilesDataset make_image_folder(const std::string& root,
                                    const std::vector<std::string>& extensions, int channels);

// A text file of `relative/path label` lines (ImageNet-LT style), paths relative to `root`.
// Throws DataError naming the file and line of a malformed entry.
ImageFilesDataset make_file_list(const std::string& root, const std::string& list_path,
                                 std::int64_t num_classes, int channels);

}  // namespace augcore::data

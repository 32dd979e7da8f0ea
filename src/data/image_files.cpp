#include "augcore/data/image_files.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "augcore/core/error.h"
#include "augcore/data/transforms.h"

namespace augcore::data {
namespace fs = std::filesystem;

ImageFilesDataset::ImageFilesDataset(std::vector<std::string> paths,
                                     std::vector<std::int64_t> labels, std::int64_t num_classes,
                                     int channels, std::string description)
    : paths_(std::move(paths)),
      labels_(std::move(labels)),
      num_classes_(num_classes),
      channels_(channels),
      description_(std::move(description)) {}

Sample ImageFilesDataset::get(std::size_t index) const {
  Sample s;
  s.image = decode_image_file(paths_[index], channels_);
  s.label = labels_[index];
  return s;
}

Sample ImageFilesDataset::get_region(std::size_t index, const RegionChooser& choose) const {
  const std::vector<std::uint8_t> bytes = read_image_bytes(paths_[index]);
  Sample s;
  s.label = labels_[index];
  if (auto region = decode_jpeg_region(bytes, channels_ == 1 ? 1 : 3, choose)) {
    s.image = std::move(*region);
  } else {
    s.image = decode_image(bytes, paths_[index], channels_);
    s.image = crop(s.image, choose(s.image.height, s.image.width));
  }
  return s;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void collect_sorted(const fs::path& dir, const std::vector<std::string>& extensions,
                    std::vector<std::string>& out) {
  std::vector<fs::directory_entry> entries;
  for (const auto& e :
       fs::directory_iterator(dir, fs::directory_options::follow_directory_symlink)) {
    entries.push_back(e);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  std::vector<fs::path> subdirs;
  for (const auto& e : entries) {
    if (e.is_directory()) {
      subdirs.push_back(e.path());
    } else if (std::find(extensions.begin(), extensions.end(),
                         lower(e.path().extension().string())) != extensions.end()) {
      out.push_back(e.path().string());
    }
  }
  // Like torchvision (sorted os.walk): a folder's own files, then its sub-folders in order.
  for (const auto& d : subdirs)
    collect_sorted(d, extensions, out);
}

}  // namespace

ImageFilesDataset make_image_folder(const std::string& root,
                                    const std::vector<std::string>& extensions, int channels) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw DataError("image_folder: '" + root + "' is not a folder");
  }
  std::vector<std::string> classes;
  for (const auto& e :
       fs::directory_iterator(root, fs::directory_options::follow_directory_symlink)) {
    if (e.is_directory()) classes.push_back(e.path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) throw DataError("image_folder: '" + root + "' has no class sub-folders");
  std::vector<std::string> paths;
  std::vector<std::int64_t> labels;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    const std::size_t before = paths.size();
    collect_sorted(fs::path(root) / classes[c], extensions, paths);
    if (paths.size() == before) {
      throw DataError("image_folder: class folder '" + (fs::path(root) / classes[c]).string() +
                      "' holds no image files");
    }
    labels.resize(paths.size(), static_cast<std::int64_t>(c));
  }
  const std::string description = "image_folder " + root + " (" + std::to_string(paths.size()) +
                                  " images, " + std::to_string(classes.size()) + " classes)";
  return ImageFilesDataset(std::move(paths), std::move(labels),
                           static_cast<std::int64_t>(classes.size()), channels, description);
}

ImageFilesDataset make_file_list(const std::string& root, const std::string& list_path,
                                 std::int64_t num_classes, int channels) {
  std::ifstream in(list_path);
  if (!in) throw DataError("file_list: cannot open '" + list_path + "'");
  std::vector<std::string> paths;
  std::vector<std::int64_t> labels;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() &&
           (line.back() == '\r' || std::isspace(static_cast<unsigned char>(line.back())))) {
      line.pop_back();
    }
    if (line.empty()) continue;
    const auto space = line.find_last_of(" \t");
    std::int64_t label = -1;
    const char* begin = line.data() + (space == std::string::npos ? 0 : space + 1);
    const char* end = line.data() + line.size();
    const auto parsed = std::from_chars(begin, end, label);
    if (space == std::string::npos || parsed.ec != std::errc() || parsed.ptr != end || label < 0) {
      throw DataError(list_path + ":" + std::to_string(number) +
                      ": expected 'relative/path label' with a non-negative integer label, got '" +
                      line + "'");
    }
    std::string rel = line.substr(0, space);
    while (!rel.empty() && std::isspace(static_cast<unsigned char>(rel.back())))
      rel.pop_back();
    if (num_classes > 0 && label >= num_classes) {
      throw DataError(list_path + ":" + std::to_string(number) + ": label " +
                      std::to_string(label) + " is not below num_classes " +
                      std::to_string(num_classes));
    }
    paths.push_back((fs::path(root) / rel).string());
    labels.push_back(label);
  }
  if (paths.empty()) throw DataError("file_list: '" + list_path + "' lists no images");
  const std::int64_t classes =
      num_classes > 0 ? num_classes : *std::max_element(labels.begin(), labels.end()) + 1;
  const std::string description = "file_list " + list_path + " (" + std::to_string(paths.size()) +
                                  " images, " + std::to_string(classes) + " classes)";
  return ImageFilesDataset(std::move(paths), std::move(labels), classes, channels, description);
}

namespace {

const std::vector<std::string> kImageExtensions{".jpg", ".jpeg", ".png",  ".ppm", ".bmp",
                                                ".pgm", ".tif",  ".tiff", ".webp"};

config::Schema image_folder_options() {
  config::Schema s;
  s.add_string("root", "", "folder with one sub-folder per class").require();
  add_common_dataset_options(s);
  return s;
}

config::Schema file_list_options() {
  config::Schema s;
  s.add_string("root", "", "folder the listed paths are relative to").require();
  s.add_string("list", "", "text file of 'relative/path label' lines").require();
  s.add_int("num_classes", 0, "number of classes; 0 = largest label + 1").range(0, 1 << 30);
  add_common_dataset_options(s);
  return s;
}

const bool registered_folder = config::register_component(
    "dataset", "image_folder", "a folder per class of JPEG/PNG files (torchvision ImageFolder)",
    image_folder_options(),
    DatasetFactory([](const config::Options& o) -> std::shared_ptr<Dataset> {
      return std::make_shared<ImageFilesDataset>(make_image_folder(
          o.string("root"), kImageExtensions, static_cast<int>(o.integer("channels"))));
    }));

const bool registered_list = config::register_component(
    "dataset", "file_list", "image files listed with labels in a text file (ImageNet-LT splits)",
    file_list_options(), DatasetFactory([](const config::Options& o) -> std::shared_ptr<Dataset> {
      return std::make_shared<ImageFilesDataset>(
          make_file_list(o.string("root"), o.string("list"), o.integer("num_classes"),
                         static_cast<int>(o.integer("channels"))));
    }));

}  // namespace
}  // namespace augcore::data

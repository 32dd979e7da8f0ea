#include "augcore/data/stl10.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "augcore/core/error.h"

namespace augcore::data {
namespace fs = std::filesystem;

namespace {

std::int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw DataError("cannot open '" + path + "': " + ec.message());
  return static_cast<std::int64_t>(size);
}

std::vector<std::int64_t> read_labels(const std::string& path, std::int64_t images,
                                      const std::string& images_path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "': " + std::strerror(errno));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (static_cast<std::int64_t>(bytes.size()) != images) {
    throw DataError(path + ": holds " + std::to_string(bytes.size()) + " labels for the " +
                    std::to_string(images) + " images of " + images_path);
  }
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int v = static_cast<unsigned char>(bytes[i]);
    if (v < 1 || v > 10) {
      throw DataError(path + ": offset " + std::to_string(i) + ": label " + std::to_string(v) +
                      " is outside 1-10");
    }
    labels.push_back(v - 1);
  }
  return labels;
}

}  // namespace

Stl10Dataset::Stl10Dataset(const std::vector<std::pair<std::string, std::string>>& files,
                           std::vector<std::int64_t> keep, int channels)
    : channels_(channels) {
  std::vector<Row> all;
  for (const auto& [images, labels_path] : files) {
    const std::int64_t bytes = file_size(images);
    if (bytes == 0) throw DataError(images + ": empty file; expected 27648-byte STL-10 images");
    if (bytes % static_cast<std::int64_t>(kBytes) != 0) {
      const std::int64_t last = bytes - bytes % static_cast<std::int64_t>(kBytes);
      throw DataError(images + ": truncated at offset " + std::to_string(bytes) +
                      ": the image starting at offset " + std::to_string(last) + " has " +
                      std::to_string(bytes - last) + " of its 27648 bytes");
    }
    const std::int64_t n = bytes / static_cast<std::int64_t>(kBytes);
    const auto labels = labels_path.empty() ? std::vector<std::int64_t>(n, -1)
                                            : read_labels(labels_path, n, images);
    const int fd = ::open(images.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw DataError("cannot open '" + images + "': " + std::strerror(errno));
    fds_.push_back(fd);
    paths_.push_back(images);
    for (std::int64_t i = 0; i < n; ++i) {
      all.push_back({static_cast<int>(fds_.size()) - 1, i * static_cast<std::int64_t>(kBytes),
                     labels[static_cast<std::size_t>(i)]});
    }
  }
  if (keep.empty()) {
    rows_ = std::move(all);
  } else {
    for (const auto i : keep) {
      if (i < 0 || i >= static_cast<std::int64_t>(all.size())) {
        throw DataError("stl10: fold index " + std::to_string(i) + " is outside the " +
                        std::to_string(all.size()) + " images");
      }
      rows_.push_back(all[static_cast<std::size_t>(i)]);
    }
  }
  description_ = "stl10 (" + std::to_string(rows_.size()) + " images)";
}

Stl10Dataset::~Stl10Dataset() {
  for (const int fd : fds_)
    ::close(fd);
}

Sample Stl10Dataset::get(std::size_t index) const {
  const Row& row = rows_.at(index);
  std::vector<std::uint8_t> raw(kBytes);
  std::size_t done = 0;
  while (done < kBytes) {
    const ssize_t got = ::pread(fds_[static_cast<std::size_t>(row.file)], raw.data() + done,
                                kBytes - done, static_cast<off_t>(row.offset + done));
    if (got <= 0) {
      throw SampleError(paths_[static_cast<std::size_t>(row.file)],
                        "cannot read the image at offset " + std::to_string(row.offset));
    }
    done += static_cast<std::size_t>(got);
  }
  Sample s;
  s.label = row.label;
  s.image = Image(kSide, kSide, 3);
  constexpr std::size_t plane = kSide * kSide;
  // Column-major planes: pixel (y, x) of channel c is byte c·96² + x·96 + y.
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < kSide; ++x)
      for (int y = 0; y < kSide; ++y)
        s.image.at(y, x, c) = raw[c * plane + static_cast<std::size_t>(x) * kSide + y];
  s.image = convert_channels(std::move(s.image), channels_);
  return s;
}

std::vector<std::vector<std::int64_t>> read_stl10_folds(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<std::vector<std::int64_t>> folds;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream words(line);
    std::vector<std::int64_t> fold;
    std::string word;
    while (words >> word) {
      std::size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || v < 0) {
        throw DataError(path + ":" + std::to_string(number) + ": '" + word +
                        "' is not an image index");
      }
      fold.push_back(v);
    }
    if (!fold.empty()) folds.push_back(std::move(fold));
  }
  return folds;
}

namespace {

config::Schema stl10_options() {
  config::Schema s;
  s.add_string("root", "", "folder with the *_X.bin / *_y.bin files (or its stl10_binary parent)")
      .require();
  s.add_choice("split", "train", {"train", "test", "unlabeled", "train+unlabeled"},
               "which images (unlabelled ones have label -1)");
  s.add_int("fold", -1, "with split train: only this fold of fold_indices.txt (0-9); -1 = all")
      .range(-1, 9);
  add_common_dataset_options(s);
  return s;
}

std::shared_ptr<Dataset> make_stl10(const config::Options& o) {
  fs::path dir = o.string("root");
  if (!fs::exists(dir / "test_X.bin") && fs::exists(dir / "stl10_binary" / "test_X.bin")) {
    dir /= "stl10_binary";
  }
  const std::string split = o.string("split");
  const auto file = [&](const std::string& name) { return (dir / name).string(); };
  std::vector<std::pair<std::string, std::string>> files;
  if (split == "train" || split == "train+unlabeled")
    files.emplace_back(file("train_X.bin"), file("train_y.bin"));
  if (split == "test") files.emplace_back(file("test_X.bin"), file("test_y.bin"));
  if (split == "unlabeled" || split == "train+unlabeled")
    files.emplace_back(file("unlabeled_X.bin"), "");
  std::vector<std::int64_t> keep;
  if (o.integer("fold") >= 0) {
    if (split != "train") {
      throw ConfigError(o.path() + ".fold: folds index the training images; split is '" + split +
                        "'");
    }
    const auto folds = read_stl10_folds(file("fold_indices.txt"));
    if (o.integer("fold") >= static_cast<std::int64_t>(folds.size())) {
      throw DataError(file("fold_indices.txt") + ": holds " + std::to_string(folds.size()) +
                      " folds, not fold " + std::to_string(o.integer("fold")));
    }
    keep = folds[static_cast<std::size_t>(o.integer("fold"))];
  }
  return std::make_shared<Stl10Dataset>(files, std::move(keep),
                                        static_cast<int>(o.integer("channels")));
}

const bool registered =
    config::register_component("dataset", "stl10", "STL-10 binary files (96 px, 10 classes)",
                               stl10_options(), DatasetFactory(make_stl10));

}  // namespace
}  // namespace augcore::data

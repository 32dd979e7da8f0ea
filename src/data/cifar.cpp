#include "augcore/data/cifar.h"

#include <filesystem>

#include "augcore/core/error.h"
#include "augcore/core/read_file.h"

namespace augcore::data {
namespace fs = std::filesystem;

CifarDataset::CifarDataset(const std::vector<std::string>& files, Variant variant, bool fine_labels,
                           int channels)
    : channels_(channels) {
  const std::size_t label_bytes = variant == Variant::kCifar10 ? 1 : 2;
  const std::size_t record = label_bytes + kPixels;
  num_classes_ = variant == Variant::kCifar10 ? 10 : (fine_labels ? 100 : 20);
  const std::size_t label_at = variant == Variant::kCifar100 && fine_labels ? 1 : 0;
  for (const auto& path : files) {
    const std::vector<std::uint8_t> bytes = read_file<std::uint8_t>(path);
    if (bytes.empty())
      throw DataError(path + ": empty file; expected " + std::to_string(record) +
                      "-byte CIFAR records");
    if (bytes.size() % record != 0) {
      const std::size_t last = bytes.size() - bytes.size() % record;
      throw DataError(path + ": truncated at offset " + std::to_string(bytes.size()) +
                      ": the record starting at offset " + std::to_string(last) + " has " +
                      std::to_string(bytes.size() - last) + " of its " + std::to_string(record) +
                      " bytes");
    }
    for (std::size_t off = 0; off < bytes.size(); off += record) {
      const std::int64_t label = bytes[off + label_at];
      if (label >= num_classes_) {
        throw DataError(path + ": offset " + std::to_string(off + label_at) + ": label " +
                        std::to_string(label) + " is out of range for " +
                        std::to_string(num_classes_) + " classes (wrong variant?)");
      }
      labels_.push_back(label);
      pixels_.insert(pixels_.end(), bytes.begin() + off + label_bytes,
                     bytes.begin() + off + record);
    }
  }
  description_ = std::string(variant == Variant::kCifar10 ? "cifar10" : "cifar100") + " (" +
                 std::to_string(labels_.size()) + " images)";
}

Sample CifarDataset::get(std::size_t index) const {
  Sample s;
  s.label = labels_[index];
  s.image = Image(kSide, kSide, 3);
  const std::uint8_t* src = pixels_.data() + index * kPixels;
  constexpr std::size_t plane = kSide * kSide;
  for (std::size_t i = 0; i < plane; ++i) {
    for (std::size_t c = 0; c < 3; ++c)
      s.image.pixels[3 * i + c] = src[c * plane + i];
  }
  s.image = convert_channels(std::move(s.image), channels_);
  return s;
}

namespace {

std::vector<std::string> cifar_files(const std::string& root, bool cifar10, bool train) {
  std::vector<std::string> names;
  if (cifar10) {
    if (train) {
      for (int i = 1; i <= 5; ++i)
        names.push_back("data_batch_" + std::to_string(i) + ".bin");
    } else {
      names.push_back("test_batch.bin");
    }
  } else {
    names.push_back(train ? "train.bin" : "test.bin");
  }
  const fs::path sub = cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
  fs::path dir = root;
  if (!fs::exists(dir / names[0]) && fs::exists(dir / sub / names[0])) dir /= sub;
  std::vector<std::string> files;
  for (const auto& n : names) {
    if (!fs::exists(dir / n)) {
      throw DataError("cifar dataset: '" + (dir / n).string() + "' does not exist");
    }
    files.push_back((dir / n).string());
  }
  return files;
}

config::Schema cifar_options() {
  config::Schema s;
  s.add_string("root", "", "folder with the binary batches (or its cifar-*-bin parent)").require();
  s.add_choice("variant", "cifar10", {"cifar10", "cifar100"}, "which CIFAR");
  s.add_choice("split", "train", {"train", "test"}, "training or test batches");
  s.add_choice("labels", "fine", {"fine", "coarse"}, "CIFAR-100 label set (100 or 20 classes)");
  add_common_dataset_options(s);
  return s;
}

const bool registered = config::register_component(
    "dataset", "cifar", "CIFAR-10/100 binary batches", cifar_options(),
    DatasetFactory([](const config::Options& o) -> std::shared_ptr<Dataset> {
      const bool c10 = o.string("variant") == "cifar10";
      return std::make_shared<CifarDataset>(
          cifar_files(o.string("root"), c10, o.string("split") == "train"),
          c10 ? CifarDataset::Variant::kCifar10 : CifarDataset::Variant::kCifar100,
          o.string("labels") == "fine", static_cast<int>(o.integer("channels")));
    }));

}  // namespace
}  // namespace augcore::data

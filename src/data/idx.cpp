#include "augcore/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "augcore/core/error.h"
#include "augcore/core/read_file.h"

namespace augcore::data {
namespace fs = std::filesystem;

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<std::uint8_t> raw = read_file<std::uint8_t>(path);
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;

  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw DataError(path + ": zlib init failed");
  // Inflated straight into the result in 64 KiB steps (the steps decide, as they always have,
  // whether input that ends just as a step fills reads as corrupt or as truncated). The result
  // is sized first by the gzip trailer's length (modulo 2^32, and a cut file's last bytes are
  // not its trailer: only a guess, capped at 16x the file and 64 MiB) and doubled when short.
  constexpr std::size_t kStep = std::size_t(1) << 16;
  std::size_t guess = 4 * raw.size();
  if (raw.size() >= 18) {
    const std::uint8_t* t = raw.data() + raw.size() - 4;
    const std::size_t isize = std::size_t(t[0]) | std::size_t(t[1]) << 8 | std::size_t(t[2]) << 16 |
                              std::size_t(t[3]) << 24;
    guess = std::min({isize + 1, 16 * raw.size(), std::size_t(64) << 20});
  }
  std::vector<std::uint8_t> out((std::max(guess, kStep) + kStep - 1) / kStep * kStep);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (zs.total_out == out.size()) out.resize(2 * out.size());
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(kStep - zs.total_out % kStep);
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      const std::string reason =
          zs.msg ? zs.msg : (ret == Z_BUF_ERROR ? "unexpected end of data" : "inflate error");
      const auto offset = zs.total_in;
      inflateEnd(&zs);
      throw DataError(path + ": corrupt gzip data at compressed offset " + std::to_string(offset) +
                      ": " + reason);
    }
    if (ret != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      const auto produced = zs.total_out;
      inflateEnd(&zs);
      throw DataError(path + ": truncated gzip stream after " + std::to_string(raw.size()) +
                      " bytes (decompressed " + std::to_string(produced) + " bytes)");
    }
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, const std::string& name) {
  if (bytes.size() < 4) {
    throw DataError(name + ": truncated at offset " + std::to_string(bytes.size()) +
                    ": expected a 4-byte IDX magic number");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw DataError(name + ": offset 0: not an IDX file (magic must start with two zero bytes)");
  }
  if (bytes[2] != 0x08) {
    throw DataError(name + ": offset 2: unsupported IDX element type 0x" + [&] {
      char b[8];
      std::snprintf(b, sizeof b, "%02x", bytes[2]);
      return std::string(b);
    }() + " (only unsigned bytes, 0x08, are supported)");
  }
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4) {
    throw DataError(name + ": offset 3: expected 1 to 4 dimensions, found " +
                    std::to_string(ndims));
  }
  const std::size_t header = 4 + 4 * std::size_t(ndims);
  if (bytes.size() < header) {
    throw DataError(name + ": truncated at offset " + std::to_string(bytes.size()) + ": expected " +
                    std::to_string(ndims) + " dimension sizes in the header");
  }
  IdxArray array;
  std::uint64_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint8_t* p = bytes.data() + 4 + 4 * d;
    const std::uint32_t v = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
                            (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
    if (v > (1u << 31) - 1) {
      throw DataError(name + ": offset " + std::to_string(4 + 4 * d) + ": dimension " +
                      std::to_string(d) + " is negative or too large");
    }
    array.dims.push_back(v);
    count *= v;
    if (count > (std::uint64_t(1) << 40)) {
      throw DataError(name + ": header declares an impossibly large array");
    }
  }
  const std::uint64_t available = bytes.size() - header;
  if (available < count) {
    throw DataError(name + ": truncated at offset " + std::to_string(bytes.size()) + ": expected " +
                    std::to_string(count) + " data bytes after the " + std::to_string(header) +
                    "-byte header, found " + std::to_string(available));
  }
  if (available > count) {
    throw DataError(name + ": " + std::to_string(available - count) +
                    " unexpected bytes after the data, at offset " +
                    std::to_string(header + count));
  }
  array.data.assign(bytes.begin() + header, bytes.end());
  return array;
}

IdxArray read_idx_file(const std::string& path) {
  return parse_idx(read_maybe_gzip(path), path);
}

IdxDataset::IdxDataset(const std::string& images_path, const std::string& labels_path, int channels)
    : channels_(channels) {
  images_ = read_idx_file(images_path);
  const IdxArray labels = read_idx_file(labels_path);
  if (images_.dims.size() != 3 && images_.dims.size() != 4) {
    throw DataError(images_path + ": expected an N×H×W or N×H×W×C image array, found " +
                    std::to_string(images_.dims.size()) + " dimensions");
  }
  if (labels.dims.size() != 1) {
    throw DataError(labels_path + ": expected a 1-dimensional label array, found " +
                    std::to_string(labels.dims.size()) + " dimensions");
  }
  if (labels.dims[0] != images_.dims[0]) {
    throw DataError(labels_path + ": holds " + std::to_string(labels.dims[0]) + " labels but " +
                    images_path + " holds " + std::to_string(images_.dims[0]) + " images");
  }
  height_ = static_cast<int>(images_.dims[1]);
  width_ = static_cast<int>(images_.dims[2]);
  stored_channels_ = images_.dims.size() == 4 ? static_cast<int>(images_.dims[3]) : 1;
  if (stored_channels_ != 1 && stored_channels_ != 3) {
    throw DataError(images_path + ": images have " + std::to_string(stored_channels_) +
                    " channels; expected 1 or 3");
  }
  if (images_.dims[0] == 0) throw DataError(images_path + ": holds no images");
  if (height_ == 0 || width_ == 0) throw DataError(images_path + ": images have zero size");
  labels_.assign(labels.data.begin(), labels.data.end());
  num_classes_ = *std::max_element(labels_.begin(), labels_.end()) + 1;
  description_ = "idx " + images_path + " (" + std::to_string(labels_.size()) + " images, " +
                 std::to_string(height_) + "x" + std::to_string(width_) + ")";
}

Sample IdxDataset::get(std::size_t index) const {
  Sample s;
  s.label = labels_[index];
  s.image = Image(height_, width_, stored_channels_);
  const std::size_t n = s.image.pixels.size();
  std::copy_n(images_.data.begin() + index * n, n, s.image.pixels.begin());
  s.image = convert_channels(std::move(s.image), channels_);
  return s;
}

namespace {

std::string find_idx_file(const std::string& root, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const fs::path p = fs::path(root) / (stem + suffix);
    if (fs::exists(p)) return p.string();
  }
  throw DataError("idx dataset: neither '" + (fs::path(root) / stem).string() +
                  "' nor its .gz exists");
}

config::Schema idx_options() {
  config::Schema s;
  s.add_string("root", "/usr/share/datasets/fashion-mnist", "folder holding the IDX files");
  s.add_choice("split", "train", {"train", "test"}, "train-* or t10k-* files (MNIST naming)");
  s.add_string("images", "", "image file, overriding root/split (path)");
  s.add_string("labels", "", "label file, overriding root/split (path)");
  add_common_dataset_options(s);
  return s;
}

const bool registered = config::register_component(
    "dataset", "idx", "MNIST-style IDX files (gzip or raw); default Fashion-MNIST", idx_options(),
    DatasetFactory([](const config::Options& o) -> std::shared_ptr<Dataset> {
      const std::string prefix = o.string("split") == "train" ? "train" : "t10k";
      std::string images = o.string("images"), labels = o.string("labels");
      if (images.empty()) images = find_idx_file(o.string("root"), prefix + "-images-idx3-ubyte");
      if (labels.empty()) labels = find_idx_file(o.string("root"), prefix + "-labels-idx1-ubyte");
      return std::make_shared<IdxDataset>(images, labels, static_cast<int>(o.integer("channels")));
    }));

}  // namespace
}  // namespace augcore::data

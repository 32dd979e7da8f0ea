#include "fixtures.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "augcore/core/error.h"
#include "augcore/core/pth.h"
#include "augcore/data/idx.h"
#include "augcore/models/mae.h"
#include "augcore/models/state_dict.h"

namespace augcore::bench {

namespace fs = std::filesystem;

namespace {

cv::Mat random_scene(cv::RNG& rng) {
  cv::Mat coarse(6, 8, CV_8UC3);
  rng.fill(coarse, cv::RNG::UNIFORM, 0, 256);
  cv::Mat scene;
  cv::resize(coarse, scene, cv::Size(500, 375), 0, 0, cv::INTER_CUBIC);
  for (int k = 0; k < 12; ++k) {
    const cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    const cv::Point centre(rng.uniform(0, 500), rng.uniform(0, 375));
    if (k % 2) {
      cv::circle(scene, centre, rng.uniform(10, 90), colour, cv::FILLED, cv::LINE_AA);
    } else {
      cv::rectangle(scene, centre, centre + cv::Point(rng.uniform(20, 160), rng.uniform(20, 120)),
                    colour, cv::FILLED);
    }
  }
  cv::Mat noise(scene.size(), CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 10);
  cv::Mat textured;
  scene.convertTo(textured, CV_16SC3);
  textured += noise;
  textured.convertTo(scene, CV_8UC3);
  return scene;
}

}  // namespace

void make_jpeg_folder(const std::string& root, int classes, int per_class) {
  cv::RNG rng(20261122);
  for (int c = 0; c < classes; ++c) {
    const fs::path dir = fs::path(root) / fmt::format("class_{:02d}", c);
    fs::create_directories(dir);
    for (int i = 0; i < per_class; ++i) {
      const fs::path file = dir / fmt::format("img_{:04d}.jpg", i);
      const cv::Mat scene = random_scene(rng);
      if (fs::exists(file)) continue;
      if (!cv::imwrite(file.string(), scene, {cv::IMWRITE_JPEG_QUALITY, 90})) {
        throw DataError("cannot write '" + file.string() + "'");
      }
    }
  }
}

void make_cifar_binary(const std::string& root, const std::string& idx_root, int per_file) {
  fs::create_directories(root);
  const data::IdxArray images = data::read_idx_file(idx_root + "/train-images-idx3-ubyte.gz");
  const data::IdxArray labels = data::read_idx_file(idx_root + "/train-labels-idx1-ubyte.gz");
  const std::int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
  const std::int64_t pad_y = (32 - h) / 2, pad_x = (32 - w) / 2;
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i)
    names.push_back(fmt::format("data_batch_{}.bin", i));
  names.push_back("test_batch.bin");
  std::int64_t source = 0;
  for (const auto& name : names) {
    const fs::path path = fs::path(root) / name;
    if (fs::exists(path) && fs::file_size(path) == std::uintmax_t(per_file) * 3073) continue;
    std::vector<char> bytes(std::size_t(per_file) * 3073, 0);
    for (int r = 0; r < per_file; ++r, source = (source + 1) % n) {
      char* record = bytes.data() + std::size_t(r) * 3073;
      record[0] = static_cast<char>(labels.data[std::size_t(source)]);
      const double tint[3] = {1.0, 0.5 + 0.5 * ((source * 7) % 11) / 10.0,
                              0.5 + 0.5 * ((source * 3) % 7) / 6.0};
      for (int c = 0; c < 3; ++c) {
        for (std::int64_t y = 0; y < h; ++y) {
          for (std::int64_t x = 0; x < w; ++x) {
            const auto v = images.data[std::size_t((source * h + y) * w + x)];
            record[1 + c * 1024 + (y + pad_y) * 32 + x + pad_x] =
                static_cast<char>(static_cast<std::uint8_t>(v * tint[c]));
          }
        }
      }
    }
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw DataError("cannot write '" + path.string() + "'");
  }
}

void make_mae_checkpoint(const std::string& path, const std::string& preset, int in_chans) {
  if (fs::exists(path)) return;
  models::MaeConfig c = models::mae_preset(preset);
  c.in_chans = in_chans;
  models::MaskedAutoencoder mae(c);
  fs::create_directories(fs::path(path).parent_path());
  pth::save(models::state_dict_ivalue(*mae), path);
}

}  // namespace augcore::bench

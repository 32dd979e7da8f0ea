// decode_jpeg_region against the independent reference: OpenCV decoding the whole file, then
// a crop; and the loader's region path against decoding whole images.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <random>

#include "augcore/config/yaml_io.h"
#include "augcore/data/image.h"
#include "augcore/data/image_files.h"
#include "augcore/data/transforms.h"
#include "augcore/train/tasks/recipe.h"
#include "support/fixtures.h"

namespace augcore::data {
namespace {

// A textured colour scene of the given size, encoded with `params`.
std::vector<std::uint8_t> encode(int height, int width, const std::vector<int>& params,
                                 bool grey = false) {
  cv::Mat scene(height, width, CV_8UC3);
  cv::RNG rng(height * 7919 + width);
  rng.fill(scene, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(scene, scene, cv::Size(0, 0), 2.0);
  cv::circle(scene, {width / 3, height / 2}, height / 4, {250, 30, 90}, cv::FILLED);
  if (grey) cv::cvtColor(scene, scene, cv::COLOR_BGR2GRAY);
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", scene, bytes, params);
  return bytes;
}

// The reference: OpenCV decodes the whole image, RGB (or grey), then the box is copied.
Image reference(const std::vector<std::uint8_t>& bytes, int channels, const CropBox& b) {
  cv::Mat m = cv::imdecode(bytes, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  const cv::Mat roi = m(cv::Rect(b.left, b.top, b.width, b.height)).clone();
  Image out(b.height, b.width, m.channels());
  std::copy(roi.data, roi.data + out.pixels.size(), out.pixels.begin());
  return out;
}

void expect_same_regions(const std::vector<std::uint8_t>& bytes, int channels, int tries) {
  std::mt19937 gen(17);
  for (int t = 0; t < tries; ++t) {
    CropBox chosen;
    int calls = 0;
    const auto region = decode_jpeg_region(bytes, channels, [&](int h, int w) {
      ++calls;
      chosen.height = std::uniform_int_distribution<int>(1, h)(gen);
      chosen.width = std::uniform_int_distribution<int>(1, w)(gen);
      chosen.top = std::uniform_int_distribution<int>(0, h - chosen.height)(gen);
      chosen.left = std::uniform_int_distribution<int>(0, w - chosen.width)(gen);
      return chosen;
    });
    ASSERT_TRUE(region.has_value());
    EXPECT_EQ(calls, 1);
    const Image want = reference(bytes, channels, chosen);
    ASSERT_EQ(region->height, want.height);
    ASSERT_EQ(region->width, want.width);
    ASSERT_EQ(region->channels, want.channels);
    ASSERT_EQ(region->pixels, want.pixels) << "box top " << chosen.top << " left " << chosen.left
                                           << " " << chosen.height << "x" << chosen.width;
  }
}

TEST(JpegRegion, MatchesWholeDecodeThenCropFor420Colour) {
  expect_same_regions(encode(375, 500, {cv::IMWRITE_JPEG_QUALITY, 90}), 3, 60);
}

TEST(JpegRegion, MatchesForOddSizesProgressiveAndRestartMarkers) {
  expect_same_regions(encode(251, 333, {cv::IMWRITE_JPEG_QUALITY, 100}), 3, 30);
  expect_same_regions(encode(120, 97, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), 3, 30);
  expect_same_regions(encode(130, 170, {cv::IMWRITE_JPEG_RST_INTERVAL, 3}), 3, 30);
}

TEST(JpegRegion, MatchesForGreyFilesAndGreyOutput) {
  expect_same_regions(encode(99, 141, {}, true), 1, 30);
  expect_same_regions(encode(99, 141, {}, true), 3, 10);
  expect_same_regions(encode(160, 200, {}), 1, 20);
}

TEST(JpegRegion, LeavesOtherFilesToTheFullDecoder) {
  int calls = 0;
  const auto choose = [&](int h, int w) {
    ++calls;
    return CropBox{0, 0, h, w};
  };
  std::vector<std::uint8_t> png;
  cv::imencode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), png);
  EXPECT_FALSE(decode_jpeg_region(png, 3, choose).has_value());
  // An EXIF APP1 segment with orientation 6 (rotate 90°) right after SOI.
  std::vector<std::uint8_t> jpeg = encode(16, 24, {});
  const std::vector<std::uint8_t> app1 = {
      0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0,
      1,    0x01, 0x12, 0,    3,   0,   0,   0,   1, 0, 6,   0,   0, 0,  0, 0, 0, 0, 0};
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  EXPECT_FALSE(decode_jpeg_region(jpeg, 3, choose).has_value());
  std::vector<std::uint8_t> corrupt = encode(64, 64, {});
  std::fill(corrupt.begin() + 20, corrupt.begin() + 200, 0xFF);
  EXPECT_FALSE(decode_jpeg_region(corrupt, 3, choose).has_value());
}

// The loader path: an ImageFolder read through a RandomResizedCrop pipeline equals the same
// transforms applied to whole decoded images, sample by sample, with the same generators.
TEST(JpegRegion, PipelineLoadEqualsWholeImageTransforms) {
  testing::TempDir dir;
  for (int c = 0; c < 2; ++c) {
    std::filesystem::create_directories(dir.path() / ("c" + std::to_string(c)));
    for (int i = 0; i < 4; ++i) {
      testing::write_bytes(dir.file("c" + std::to_string(c) + "/" + std::to_string(i) + ".jpg"),
                           encode(200 + 10 * i, 260 - 15 * c, {}));
    }
  }
  const ImageFilesDataset ds = make_image_folder(dir.path().string(), {".jpg"}, 3);
  const config::Config cfg = config::Config::from_node(
      config::parse_yaml(
          "data:\n  train_transforms: [{name: random_resized_crop, size: 64}, hflip]\n", "t"),
      train::recipe_schema());
  const TransformPipeline pipeline =
      TransformPipeline::from_config(cfg.root().section("data").components("train_transforms"));
  for (std::size_t i = 0; i < ds.size(); ++i) {
    Rng a(100 + i), b(100 + i);
    const Sample fast = pipeline.load(ds, i, a);
    const Image slow = pipeline.apply(ds.get(i).image, b);
    EXPECT_EQ(fast.label, ds.label(i));
    EXPECT_EQ(fast.image.pixels, slow.pixels) << "sample " << i;
  }
}

}  // namespace
}  // namespace augcore::data

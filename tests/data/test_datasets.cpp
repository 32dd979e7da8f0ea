#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <tuple>

#include "augcore/core/error.h"
#include "augcore/data/cifar.h"
#include "augcore/data/dataset.h"
#include "augcore/data/idx.h"
#include "augcore/data/image_files.h"
#include "augcore/data/stl10.h"
#include "support/fixtures.h"

namespace augcore::data {
namespace {

using testing::idx_bytes;
using testing::TempDir;
using testing::write_bytes;
using testing::write_gzip;
using testing::write_text;

std::string data_error(const std::function<void()>& f) {
  return testing::error_message<DataError>(f);
}

// Three 2×3 grey images with pixel = 10·image + position, labels 2, 0, 1.
std::vector<std::uint8_t> three_images() {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 3; ++i) {
    for (int p = 0; p < 6; ++p)
      px.push_back(static_cast<std::uint8_t>(10 * i + p));
  }
  return px;
}

TEST(IdxTest, ReadsGzippedAndRawFiles) {
  TempDir dir;
  write_gzip(dir.file("img.gz"), idx_bytes({3, 2, 3}, three_images()));
  write_bytes(dir.file("lab"), idx_bytes({3}, {2, 0, 1}));
  IdxDataset ds(dir.file("img.gz"), dir.file("lab"), 0);
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds.num_classes(), 3);
  const Sample s = ds.get(1);
  EXPECT_EQ(s.label, 0);
  EXPECT_EQ(s.image.height, 2);
  EXPECT_EQ(s.image.width, 3);
  EXPECT_EQ(s.image.channels, 1);
  EXPECT_EQ(s.image.pixels, (std::vector<std::uint8_t>{10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(ds.label(0), 2);
}

TEST(IdxTest, ChannelsCanBeForcedToRgb) {
  TempDir dir;
  write_bytes(dir.file("img"), idx_bytes({3, 2, 3}, three_images()));
  write_bytes(dir.file("lab"), idx_bytes({3}, {2, 0, 1}));
  const Sample s = IdxDataset(dir.file("img"), dir.file("lab"), 3).get(2);
  ASSERT_EQ(s.image.channels, 3);
  EXPECT_EQ(s.image.at(1, 2, 0), 25);
  EXPECT_EQ(s.image.at(1, 2, 1), 25);
  EXPECT_EQ(s.image.at(1, 2, 2), 25);
}

TEST(IdxTest, TruncatedDataNamesFileAndOffset) {
  TempDir dir;
  auto bytes = idx_bytes({3, 2, 3}, three_images());
  bytes.resize(bytes.size() - 4);
  write_bytes(dir.file("img"), bytes);
  EXPECT_EQ(data_error([&] { read_idx_file(dir.file("img")); }),
            dir.file("img") +
                ": truncated at offset 30: expected 18 data bytes after the "
                "16-byte header, found 14");
}

TEST(IdxTest, MalformedHeadersAreRejected) {
  TempDir dir;
  write_bytes(dir.file("short"), {0, 0});
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("short")); }).find("truncated at offset 2"),
            std::string::npos);
  write_bytes(dir.file("magic"), {1, 2, 8, 1, 0, 0, 0, 0});
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("magic")); }).find("not an IDX file"),
            std::string::npos);
  write_bytes(dir.file("type"), {0, 0, 0x0D, 1, 0, 0, 0, 0});
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("type")); }).find("element type 0x0d"),
            std::string::npos);
  write_bytes(dir.file("dims"), {0, 0, 8, 3, 0, 0, 0, 1});
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("dims")); }).find("dimension sizes"),
            std::string::npos);
  write_bytes(dir.file("huge"),
              {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff});
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("huge")); }).find("impossibly large"),
            std::string::npos);
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("absent")); }).find("cannot open"),
            std::string::npos);
}

TEST(IdxTest, TruncatedGzipIsAnError) {
  TempDir dir;
  write_gzip(dir.file("img.gz"), idx_bytes({3, 2, 3}, three_images()));
  std::ifstream in(dir.file("img.gz"), std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  bytes.resize(bytes.size() / 2);
  write_bytes(dir.file("cut.gz"), bytes);
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("cut.gz")); }).find("truncated gzip"),
            std::string::npos);
  bytes[12] ^= 0xFF;  // damage the deflate stream itself
  bytes.resize(bytes.size() + 64, 0x55);
  write_bytes(dir.file("bad.gz"), bytes);
  EXPECT_NE(data_error([&] { read_idx_file(dir.file("bad.gz")); }).find(dir.file("bad.gz")),
            std::string::npos);
}

TEST(IdxTest, LabelCountMustMatch) {
  TempDir dir;
  write_bytes(dir.file("img"), idx_bytes({3, 2, 3}, three_images()));
  write_bytes(dir.file("lab"), idx_bytes({2}, {1, 0}));
  EXPECT_EQ(data_error([&] { IdxDataset(dir.file("img"), dir.file("lab"), 0); }),
            dir.file("lab") + ": holds 2 labels but " + dir.file("img") + " holds 3 images");
}

// CIFAR record: label byte(s), then R, G, B planes of 32×32.
std::vector<std::uint8_t> cifar_record(std::vector<std::uint8_t> labels, std::uint8_t seed) {
  std::vector<std::uint8_t> r = std::move(labels);
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 1024; ++p)
      r.push_back(static_cast<std::uint8_t>(seed + c * 50 + p % 7));
  }
  return r;
}

TEST(CifarTest, ReadsRecordsAsHwcRgb) {
  TempDir dir;
  auto bytes = cifar_record({3}, 1);
  const auto second = cifar_record({9}, 2);
  bytes.insert(bytes.end(), second.begin(), second.end());
  write_bytes(dir.file("b.bin"), bytes);
  CifarDataset ds({dir.file("b.bin")}, CifarDataset::Variant::kCifar10, true, 0);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.num_classes(), 10);
  const Sample s = ds.get(1);
  EXPECT_EQ(s.label, 9);
  // pixel (y=0, x=5) is plane position 5: R = 2 + 5, G = 52 + 5, B = 102 + 5.
  EXPECT_EQ(s.image.at(0, 5, 0), 7);
  EXPECT_EQ(s.image.at(0, 5, 1), 57);
  EXPECT_EQ(s.image.at(0, 5, 2), 107);
  // pixel (y=1, x=0) is plane position 32 → 32 % 7 = 4.
  EXPECT_EQ(s.image.at(1, 0, 2), 106);
}

TEST(CifarTest, Cifar100FineAndCoarseLabels) {
  TempDir dir;
  write_bytes(dir.file("train.bin"), cifar_record({4, 77}, 0));
  EXPECT_EQ(
      CifarDataset({dir.file("train.bin")}, CifarDataset::Variant::kCifar100, true, 0).get(0).label,
      77);
  CifarDataset coarse({dir.file("train.bin")}, CifarDataset::Variant::kCifar100, false, 0);
  EXPECT_EQ(coarse.get(0).label, 4);
  EXPECT_EQ(coarse.num_classes(), 20);
}

TEST(CifarTest, TruncatedAndBadLabelsAreErrors) {
  TempDir dir;
  auto bytes = cifar_record({1}, 0);
  bytes.resize(bytes.size() + 100, 0);
  write_bytes(dir.file("cut.bin"), bytes);
  EXPECT_EQ(data_error([&] {
              CifarDataset({dir.file("cut.bin")}, CifarDataset::Variant::kCifar10, true, 0);
            }),
            dir.file("cut.bin") +
                ": truncated at offset 3173: the record starting at offset 3073 has 100 of its "
                "3073 bytes");
  write_bytes(dir.file("label.bin"), cifar_record({12}, 0));
  EXPECT_NE(data_error([&] {
              CifarDataset({dir.file("label.bin")}, CifarDataset::Variant::kCifar10, true, 0);
            }).find("offset 0: label 12 is out of range for 10 classes"),
            std::string::npos);
}

void write_png(const std::string& path, int value, int channels) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::Mat m(4, 5, channels == 1 ? CV_8UC1 : CV_8UC3, cv::Scalar::all(value));
  if (channels == 3) m.at<cv::Vec3b>(0, 0) = cv::Vec3b(1, 2, 3);  // B, G, R
  cv::imwrite(path, m);
}

TEST(ImageFolderTest, SortedClassesRecursiveFilesAndRgbOrder) {
  TempDir dir;
  const auto root = dir.path() / "root";
  write_png((root / "dog/b.png").string(), 20, 3);
  write_png((root / "dog/a.png").string(), 10, 3);
  write_png((root / "dog/sub/c.PNG").string(), 30, 3);
  write_png((root / "cat/z.png").string(), 40, 1);
  write_text((root / "cat/notes.txt").string(), "not an image");
  const auto ds = make_image_folder(root.string(), {".png"}, 3);
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds.num_classes(), 2);
  EXPECT_EQ(ds.path(0), (root / "cat/z.png").string());
  EXPECT_EQ(ds.path(1), (root / "dog/a.png").string());
  EXPECT_EQ(ds.path(2), (root / "dog/b.png").string());
  EXPECT_EQ(ds.path(3), (root / "dog/sub/c.PNG").string());
  EXPECT_EQ(ds.label(0), 0);
  EXPECT_EQ(ds.label(3), 1);
  const Sample s = ds.get(1);
  EXPECT_EQ(s.image.height, 4);
  EXPECT_EQ(s.image.width, 5);
  EXPECT_EQ(s.image.at(0, 0, 0), 3);  // R
  EXPECT_EQ(s.image.at(0, 0, 2), 1);  // B
  EXPECT_EQ(s.image.at(2, 2, 1), 10);
  const Sample grey = ds.get(0);  // a grey PNG forced to 3 channels
  EXPECT_EQ(grey.image.channels, 3);
  EXPECT_EQ(grey.image.at(3, 4, 2), 40);
}

TEST(ImageFolderTest, CorruptAndTruncatedImagesThrowSampleError) {
  TempDir dir;
  const auto root = dir.path() / "root";
  write_bytes((root / "a/garbage.jpg").string(), {1, 2, 3, 4, 5, 6, 7, 8});
  cv::Mat m(16, 16, CV_8UC3, cv::Scalar(9, 99, 199));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", m, jpeg);
  write_bytes((root / "a/good.jpg").string(), jpeg);
  jpeg.resize(jpeg.size() * 2 / 3);
  write_bytes((root / "a/truncated.jpg").string(), jpeg);
  const auto ds = make_image_folder(root.string(), {".jpg"}, 0);
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_THROW(ds.get(0), SampleError);
  const Sample good = ds.get(1);
  EXPECT_NEAR(good.image.at(8, 8, 0), 199, 3);
  EXPECT_NEAR(good.image.at(8, 8, 2), 9, 3);
  try {
    ds.get(2);
    FAIL() << "truncated JPEG decoded";
  } catch (const SampleError& e) {
    EXPECT_EQ(e.path(), (root / "a/truncated.jpg").string());
    EXPECT_NE(std::string(e.what()).find("truncated JPEG"), std::string::npos);
  }
}

TEST(ImageFolderTest, EmptyClassAndMissingRootAreErrors) {
  TempDir dir;
  write_png(dir.file("root/a/x.png"), 1, 1);
  std::filesystem::create_directories(dir.path() / "root/b");
  EXPECT_NE(data_error([&] {
              make_image_folder(dir.file("root"), {".png"}, 0);
            }).find("holds no image files"),
            std::string::npos);
  EXPECT_NE(
      data_error([&] { make_image_folder(dir.file("nope"), {".png"}, 0); }).find("is not a folder"),
      std::string::npos);
}

TEST(FileListTest, ParsesPathsWithSpacesAndLabels) {
  TempDir dir;
  write_png(dir.file("imgs/a b.png"), 5, 1);
  write_png(dir.file("imgs/c.png"), 6, 1);
  write_text(dir.file("list.txt"), "imgs/a b.png 3\r\n\nimgs/c.png\t0\n");
  const auto ds = make_file_list(dir.path().string(), dir.file("list.txt"), 0, 1);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.num_classes(), 4);
  EXPECT_EQ(ds.label(0), 3);
  EXPECT_EQ(ds.get(0).image.at(1, 1, 0), 5);
  EXPECT_EQ(ds.get(1).label, 0);
}

TEST(FileListTest, MalformedLineNamesFileAndLine) {
  TempDir dir;
  write_text(dir.file("list.txt"), "a.png 1\nb.png x\n");
  EXPECT_EQ(data_error([&] { make_file_list(dir.path().string(), dir.file("list.txt"), 0, 0); }),
            dir.file("list.txt") +
                ":2: expected 'relative/path label' with a non-negative integer label, got "
                "'b.png x'");
  write_text(dir.file("range.txt"), "a.png 7\n");
  EXPECT_NE(data_error([&] {
              make_file_list(dir.path().string(), dir.file("range.txt"), 5, 0);
            }).find("range.txt:1: label 7 is not below num_classes 5"),
            std::string::npos);
  const auto ds = make_file_list(dir.path().string(), dir.file("range.txt"), 0, 0);
  EXPECT_THROW(ds.get(0), SampleError);  // listed file does not exist
}

TEST(ChannelsTest, RgbToGreyIsLuma) {
  Image rgb(1, 1, 3);
  rgb.pixels = {200, 100, 50};
  // 0.299·200 + 0.587·100 + 0.114·50 = 124.2
  EXPECT_EQ(convert_channels(rgb, 1).pixels, (std::vector<std::uint8_t>{124}));
}

// STL-10 bytes as its README describes them: per image 3 planes of 96×96, each stored column
// by column (byte c·9216 + x·96 + y is pixel (y, x) of channel c). The value encodes
// (image, channel, x, y) asymmetrically, so a row-major reading fails the pixel check.
std::uint8_t stl_value(int n, int c, int x, int y) {
  return static_cast<std::uint8_t>((n * 11 + c * 97 + x * 7 + y * 3) % 256);
}

std::vector<std::uint8_t> stl_images(int count) {
  std::vector<std::uint8_t> bytes;
  for (int n = 0; n < count; ++n)
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < 96; ++x)
        for (int y = 0; y < 96; ++y)
          bytes.push_back(stl_value(n, c, x, y));
  return bytes;
}

TEST(Stl10Test, ColumnMajorPlanesBecomeHwcPixelByPixel) {
  TempDir dir;
  write_bytes(dir.file("train_X.bin"), stl_images(3));
  write_bytes(dir.file("train_y.bin"), {3, 10, 1});
  write_bytes(dir.file("unlabeled_X.bin"), stl_images(2));
  Stl10Dataset ds(
      {{dir.file("train_X.bin"), dir.file("train_y.bin")}, {dir.file("unlabeled_X.bin"), ""}}, {},
      0);
  ASSERT_EQ(ds.size(), 5u);
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.label(0), 2);
  EXPECT_EQ(ds.label(1), 9);
  EXPECT_EQ(ds.label(2), 0);
  EXPECT_EQ(ds.label(3), -1);
  for (std::size_t i : {1u, 4u}) {
    const Sample s = ds.get(i);
    const int n = i < 3 ? static_cast<int>(i) : static_cast<int>(i) - 3;
    ASSERT_EQ(s.image.height, 96);
    ASSERT_EQ(s.image.width, 96);
    ASSERT_EQ(s.image.channels, 3);
    int wrong = 0;
    for (int y = 0; y < 96; ++y)
      for (int x = 0; x < 96; ++x)
        for (int c = 0; c < 3; ++c)
          wrong += s.image.at(y, x, c) != stl_value(n, c, x, y);
    EXPECT_EQ(wrong, 0) << "image " << i;
  }
  // A fold keeps the listed training images in its order.
  write_text(dir.file("fold_indices.txt"), "2 0\n1\n");
  const auto folds = read_stl10_folds(dir.file("fold_indices.txt"));
  ASSERT_EQ(folds.size(), 2u);
  Stl10Dataset fold({{dir.file("train_X.bin"), dir.file("train_y.bin")}}, folds[0], 1);
  ASSERT_EQ(fold.size(), 2u);
  EXPECT_EQ(fold.label(0), 0);
  EXPECT_EQ(fold.label(1), 2);
  EXPECT_EQ(fold.get(0).image.channels, 1);
}

TEST(Stl10Test, TruncatedFilesAndBadLabelsAreRefused) {
  TempDir dir;
  auto bytes = stl_images(2);
  bytes.resize(bytes.size() - 5);
  write_bytes(dir.file("cut_X.bin"), bytes);
  EXPECT_EQ(data_error([&] {
              Stl10Dataset({{dir.file("cut_X.bin"), ""}}, {}, 0);
            }),
            dir.file("cut_X.bin") +
                ": truncated at offset 55291: the image starting at offset 27648 has 27643 of "
                "its 27648 bytes");
  write_bytes(dir.file("x.bin"), stl_images(2));
  write_bytes(dir.file("short_y.bin"), {1});
  EXPECT_NE(data_error([&] {
              Stl10Dataset({{dir.file("x.bin"), dir.file("short_y.bin")}}, {}, 0);
            }).find("holds 1 labels for the 2 images"),
            std::string::npos);
  write_bytes(dir.file("bad_y.bin"), {1, 11});
  EXPECT_NE(data_error([&] {
              Stl10Dataset({{dir.file("x.bin"), dir.file("bad_y.bin")}}, {}, 0);
            }).find("offset 1: label 11 is outside 1-10"),
            std::string::npos);
  EXPECT_NE(data_error([&] {
              Stl10Dataset({{dir.file("none_X.bin"), ""}}, {}, 0);
            }).find("cannot open"),
            std::string::npos);
  write_text(dir.file("folds.txt"), "1 2\n3 x\n");
  EXPECT_EQ(data_error([&] { read_stl10_folds(dir.file("folds.txt")); }),
            dir.file("folds.txt") + ":2: 'x' is not an image index");
}

// 90 one-pixel images whose pixel is their index, labelled index % 3, as train-* IDX files; and
// 30 more as t10k-* (pixels 90..119): every sample names itself.
std::string indexed_idx_root(const TempDir& dir) {
  for (const auto& [prefix, first, count] :
       {std::tuple<std::string, int, int>{"train", 0, 90}, {"t10k", 90, 30}}) {
    std::vector<std::uint8_t> px, labels;
    for (int i = first; i < first + count; ++i) {
      px.push_back(static_cast<std::uint8_t>(i));
      labels.push_back(static_cast<std::uint8_t>(i % 3));
    }
    write_bytes(dir.file(prefix + "-images-idx3-ubyte"),
                idx_bytes({static_cast<std::uint32_t>(count), 1, 1}, px));
    write_bytes(dir.file(prefix + "-labels-idx1-ubyte"),
                idx_bytes({static_cast<std::uint32_t>(count)}, labels));
  }
  return dir.path().string();
}

std::set<int> pixels_of(const std::string& yaml) {
  const auto ds = make_dataset(testing::component("dataset", yaml));
  std::set<int> out;
  for (std::size_t i = 0; i < ds->size(); ++i)
    out.insert(ds->get(i).image.pixels.at(0));
  EXPECT_EQ(out.size(), ds->size()) << yaml;
  return out;
}

TEST(HoldoutTest, ValidationSplitIsBalancedAndDisjointFromLabelledSubsetsAndTest) {
  TempDir dir;
  const std::string root = indexed_idx_root(dir);
  const std::string idx = "{name: idx, root: " + root + ", ";
  const std::set<int> val =
      pixels_of(idx + "split: train, holdout_per_class: 5, holdout_only: true}");
  ASSERT_EQ(val.size(), 15u);
  std::map<int, int> per_class;
  for (const int p : val)
    ++per_class[p % 3];
  EXPECT_EQ(per_class, (std::map<int, int>{{0, 5}, {1, 5}, {2, 5}}));
  const std::set<int> rest = pixels_of(idx + "split: train, holdout_per_class: 5}");
  EXPECT_EQ(rest.size(), 75u);
  const std::set<int> test = pixels_of(idx + "split: test}");
  for (const std::uint64_t seed : {0u, 1u, 2u}) {
    const std::string s = std::to_string(seed);
    const std::set<int> labelled = pixels_of(idx + "split: train, holdout_per_class: 5, " +
                                             "labelled_per_class: 20, subset_seed: " + s + "}");
    const std::set<int> unlabelled =
        pixels_of(idx + "split: train, holdout_per_class: 5, labelled_per_class: 20, " +
                  "labelled_rest: true, subset_seed: " + s + "}");
    EXPECT_EQ(labelled.size(), 60u);
    EXPECT_EQ(labelled.size() + unlabelled.size(), 75u);
    for (const int p : val) {
      EXPECT_EQ(labelled.count(p) + unlabelled.count(p) + rest.count(p) + test.count(p), 0u)
          << "validation image " << p << " also appears elsewhere (subset_seed " << s << ")";
    }
  }
  // A labelled subset larger than what the holdout leaves is an error naming the class.
  EXPECT_NE(data_error([&] {
              make_dataset(testing::component(
                  "dataset", idx + "split: train, holdout_per_class: 5, labelled_per_class: 26}"));
            }).find("class"),
            std::string::npos);
  EXPECT_EQ(testing::error_message<ConfigError>(
                [&] { make_dataset(testing::component("dataset", idx + "holdout_only: true}")); }),
            "dataset.holdout_only: needs holdout_per_class (the images to hold out)");
}

}  // namespace
}  // namespace augcore::data

#include "augcore/data/image.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <iterator>

#include "augcore/data/dataset.h"

namespace augcore::data {

Image convert_channels(Image image, int channels) {
  if (channels == 0 || channels == image.channels) return image;
  Image out(image.height, image.width, channels);
  const std::size_t n = std::size_t(image.height) * image.width;
  if (image.channels == 1 && channels == 3) {
    for (std::size_t i = 0; i < n; ++i) {
      out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = image.pixels[i];
    }
  } else if (image.channels == 3 && channels == 1) {
    for (std::size_t i = 0; i < n; ++i) {
      const double y = 0.299 * image.pixels[3 * i] + 0.587 * image.pixels[3 * i + 1] +
                       0.114 * image.pixels[3 * i + 2];
      out.pixels[i] = static_cast<std::uint8_t>(y + 0.5);
    }
  } else {
    throw std::invalid_argument("cannot convert " + std::to_string(image.channels) +
                                " channels to " + std::to_string(channels));
  }
  return out;
}

namespace {

bool has_jpeg_end(const std::vector<std::uint8_t>& bytes) {
  std::size_t end = bytes.size();
  while (end > 2 && bytes[end - 1] == 0)
    --end;  // some writers pad after the marker
  return end >= 4 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9;
}

}  // namespace

std::vector<std::uint8_t> read_image_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw SampleError(path, "cannot open file");
  const std::streamoff size = in.tellg();
  if (size <= 0) throw SampleError(path, "empty file");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw SampleError(path, "cannot read file");
  }
  return bytes;
}

Image decode_image_file(const std::string& path, int channels) {
  return decode_image(read_image_bytes(path), path, channels);
}

Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& path, int channels) {
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8 && !has_jpeg_end(bytes)) {
    // libjpeg decodes a truncated file with a grey bottom and only a warning; refuse it.
    throw SampleError(path, "truncated JPEG (no end-of-image marker)");
  }
  cv::Mat mat;
  try {
    mat = cv::imdecode(bytes, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw SampleError(path, std::string("cannot decode: ") + e.what());
  }
  if (mat.empty()) throw SampleError(path, "cannot decode (corrupt or unsupported image)");
  if (mat.channels() == 3) cv::cvtColor(mat, mat, cv::COLOR_BGR2RGB);
  Image image(mat.rows, mat.cols, mat.channels());
  for (int y = 0; y < mat.rows; ++y) {
    const auto* row = mat.ptr<std::uint8_t>(y);
    std::copy(row, row + std::size_t(mat.cols) * mat.channels(),
              image.pixels.begin() + std::size_t(y) * mat.cols * mat.channels());
  }
  return convert_channels(std::move(image), channels);
}

}  // namespace augcore::data

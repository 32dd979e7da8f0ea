// An 8-bit image in height × width × channels layout, and decoding image files into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace augcore::data {

struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // HWC, row-major

  Image() = default;
  Image(int h, int w, int c) : height(h), width(w), channels(c), pixels(std::size_t(h) * w * c) {}
  std::uint8_t& at(int y, int x, int c) {
    return pixels[(std::size_t(y) * width + x) * channels + c];
  }
  std::uint8_t at(int y, int x, int c) const {
    return pixels[(std::size_t(y) * width + x) * channels + c];
  }
};

// Converts to `channels` (1 or 3): grey is replicated, colour becomes ITU-R 601 luma.
// channels == 0 or equal to the image's returns it unchanged.
Image convert_channels(Image image, int channels);

// Decodes a JPEG/PNG/BMP/... file as RGB (or grey when channels == 1). Throws SampleError.
Image decode_image_file(const std::string& path, int channels);

}  // namespace augcore::data

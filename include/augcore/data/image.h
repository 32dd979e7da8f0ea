// An 8-bit image in height × width × channels layout, and decoding image files into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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

// A box of an image (rows top…top+height-1, columns left…left+width-1).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// Chooses the box to keep of an image of the given size (called at most once per decode).
using RegionChooser = std::function<CropBox(int height, int width)>;

// Converts to `channels` (1 or 3): grey is replicated, colour becomes ITU-R 601 luma.
// channels == 0 or equal to the image's returns it unchanged.
Image convert_channels(Image image, int channels);

// Decodes a JPEG/PNG/BMP/... file as RGB (or grey when channels == 1). Throws SampleError.
Image decode_image_file(const std::string& path, int channels);

// The file's bytes. Throws SampleError when it cannot be read or is empty.
std::vector<std::uint8_t> read_image_bytes(const std::string& path);

// decode_image_file on bytes already read; `path` names them in errors.
Image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& path, int channels);

// Decodes only the box `choose(height, width)` picks of a JPEG, with the same pixels as
// decoding the whole image and cropping: rows below the box are never decoded, rows above it
// are skipped without colour conversion, and columns outside it are not transformed. Returns
// nothing (leaving the choice to the caller's full decode) for anything else: not a JPEG, an
// EXIF orientation other than 1, a colour space other than grey/YCbCr/RGB, or a decoding error.
std::optional<Image> decode_jpeg_region(const std::vector<std::uint8_t>& bytes, int channels,
                                        const RegionChooser& choose);

}  // namespace augcore::data

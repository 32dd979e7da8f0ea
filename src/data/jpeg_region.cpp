// decode_jpeg_region: libjpeg(-turbo) decoding of just the rows and columns a crop needs.
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>

#include "augcore/data/image.h"

namespace augcore::data {

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

void on_error(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<ErrorManager*>(cinfo->err)->jump, 1);
}

void ignore_message(j_common_ptr, int) {}

std::uint32_t read_u32(const std::uint8_t* p, bool little) {
  return little ? std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
                      std::uint32_t(p[3]) << 24
                : std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 | std::uint32_t(p[1]) << 16 |
                      std::uint32_t(p[0]) << 24;
}

// The EXIF orientation tag (0x0112) of an APP1 payload; 1 when there is none.
int exif_orientation(const std::uint8_t* data, std::size_t size) {
  if (size < 14 || std::memcmp(data, "Exif\0\0", 6) != 0) return 1;
  const std::uint8_t* tiff = data + 6;
  const std::size_t n = size - 6;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 1;
  const auto u16 = [&](std::size_t at) {
    return little ? int(tiff[at]) | int(tiff[at + 1]) << 8 : int(tiff[at + 1]) | int(tiff[at]) << 8;
  };
  const std::uint32_t ifd = read_u32(tiff + 4, little);
  if (ifd > n - 2 || ifd + 2 > n) return 1;
  const int entries = u16(ifd);
  for (int i = 0; i < entries; ++i) {
    const std::size_t at = ifd + 2 + std::size_t(i) * 12;
    if (at + 12 > n) break;
    if (u16(at) == 0x0112) return u16(at + 8);
  }
  return 1;
}

// The libjpeg work, kept free of objects with destructors so that longjmp may leave it.
bool decode_rows(jpeg_decompress_struct& cinfo, ErrorManager& err, const std::uint8_t* bytes,
                 std::size_t size, int channels, const RegionChooser& choose, CropBox& box,
                 std::vector<std::uint8_t>& row, Image& out) {
  if (setjmp(err.jump)) return false;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) return false;
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && exif_orientation(m->data, m->data_length) != 1) return false;
  }
  const J_COLOR_SPACE space = cinfo.jpeg_color_space;
  if (space != JCS_GRAYSCALE && space != JCS_YCbCr && space != JCS_RGB) return false;
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  const int height = static_cast<int>(cinfo.image_height);
  const int width = static_cast<int>(cinfo.image_width);
  box = choose(height, width);
  if (box.top < 0 || box.left < 0 || box.height <= 0 || box.width <= 0 ||
      box.top + box.height > height || box.left + box.width > width) {
    return false;
  }
  jpeg_start_decompress(&cinfo);
  const int c = static_cast<int>(cinfo.output_components);
  // Chroma upsampling reads the neighbouring block rows and columns, so the decoded window
  // keeps one iMCU of margin on every side; the margin is decoded and dropped.
  const int mcu_w = cinfo.max_h_samp_factor * DCTSIZE, mcu_h = cinfo.max_v_samp_factor * DCTSIZE;
  const int x0 = std::max(0, box.left - mcu_w);
  const int x1 = std::min(width, box.left + box.width + mcu_w);
  JDIMENSION x = static_cast<JDIMENSION>(x0), w = static_cast<JDIMENSION>(x1 - x0);
  jpeg_crop_scanline(&cinfo, &x, &w);
  const int skip_rows = std::max(0, (box.top / mcu_h - 1) * mcu_h);
  if (skip_rows > 0 && jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(skip_rows)) !=
                           static_cast<JDIMENSION>(skip_rows)) {
    return false;
  }
  row.resize(std::size_t(cinfo.output_width) * c);
  out = Image(box.height, box.width, c);
  const std::size_t skip = (std::size_t(box.left) - x) * c, keep = std::size_t(box.width) * c;
  JSAMPROW rows[1] = {row.data()};
  for (int y = skip_rows; y < box.top + box.height; ++y) {
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) return false;
    if (y >= box.top)
      std::memcpy(out.pixels.data() + (y - box.top) * keep, row.data() + skip, keep);
  }
  return true;
}

}  // namespace

std::optional<Image> decode_jpeg_region(const std::vector<std::uint8_t>& bytes, int channels,
                                        const RegionChooser& choose) {
  if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return std::nullopt;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = ignore_message;
  jpeg_create_decompress(&cinfo);
  CropBox box;
  std::vector<std::uint8_t> row;
  Image out;
  const bool ok =
      decode_rows(cinfo, err, bytes.data(), bytes.size(), channels, choose, box, row, out);
  jpeg_destroy_decompress(&cinfo);
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace augcore::data

// Fuzz target: the IDX reader (raw or gzipped image and label files) and its samples.
// Input: byte 0 picks the channels (0, 1, 3); bytes 1-2 (little-endian) the length of the
// images file; the rest is the images file followed by the labels file.
#include <cstdint>

#include "augcore/core/error.h"
#include "augcore/data/dataset.h"
#include "augcore/data/idx.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace augcore;
  static fuzz::ScratchFile images("images.idx"), labels("labels.idx");
  if (size < 3) return 0;
  const int channels = data[0] % 3 == 2 ? 3 : data[0] % 3;
  std::size_t images_size = data[1] | static_cast<std::size_t>(data[2]) << 8;
  data += 3;
  size -= 3;
  if (images_size > size) images_size = size;
  const std::string& images_path = images.write(data, images_size);
  const std::string& labels_path = labels.write(data + images_size, size - images_size);
  try {
    data::IdxDataset ds(images_path, labels_path, channels);
    for (std::size_t i = 0; i < ds.size() && i < 4; ++i) {
      const data::Sample s = ds.get(i);
      const auto pixels =
          static_cast<std::size_t>(s.image.height) * s.image.width * s.image.channels;
      if (s.label != ds.label(i) || s.label < 0 || s.label >= ds.num_classes() ||
          s.image.pixels.size() != pixels) {
        __builtin_trap();
      }
    }
  } catch (const DataError&) {
  } catch (const data::SampleError&) {
  }
  return 0;
}

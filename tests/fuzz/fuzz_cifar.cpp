// Fuzz target: the CIFAR-10/100 binary reader and its samples.
// Input: byte 0 picks the variant (CIFAR-10, CIFAR-100 fine or coarse) and the channels;
// the rest is one batch file.
#include <cstdint>

#include "augcore/core/error.h"
#include "augcore/data/cifar.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace augcore;
  static fuzz::ScratchFile batch("cifar.bin");
  if (size < 1) return 0;
  const auto variant = data[0] % 3 == 0 ? data::CifarDataset::Variant::kCifar10
                                        : data::CifarDataset::Variant::kCifar100;
  const bool fine = data[0] % 3 == 1;
  const int channels = (data[0] / 3) % 3 == 2 ? 3 : (data[0] / 3) % 3;
  const std::string& path = batch.write(data + 1, size - 1);
  try {
    data::CifarDataset ds({path}, variant, fine, channels);
    for (std::size_t i = 0; i < ds.size() && i < 4; ++i) {
      const data::Sample s = ds.get(i);
      const auto pixels =
          static_cast<std::size_t>(s.image.height) * s.image.width * s.image.channels;
      if (s.label < 0 || s.label >= ds.num_classes() || s.image.pixels.size() != pixels) {
        __builtin_trap();
      }
    }
  } catch (const DataError&) {
  } catch (const data::SampleError&) {
  }
  return 0;
}

#include "augcore/core/read_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "augcore/core/error.h"

namespace augcore {

// In blocks of the file's size (or 1 MiB, then doubling, when the size is unknown): a byte-wise
// stream iterator spent most of a run's start-up reading Fashion-MNIST, and two thirds of it
// under AddressSanitizer.
template <typename Byte>
std::vector<Byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "': " + std::strerror(errno));
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::size_t block = ec ? std::size_t(1) << 20 : static_cast<std::size_t>(size) + 1;
  std::vector<Byte> bytes;
  std::size_t used = 0;
  while (in) {
    bytes.resize(used + block);
    in.read(reinterpret_cast<char*>(bytes.data() + used), static_cast<std::streamsize>(block));
    used += static_cast<std::size_t>(in.gcount());
    block = std::max<std::size_t>(used, std::size_t(1) << 20);
  }
  if (in.bad()) throw DataError("cannot read '" + path + "': " + std::strerror(errno));
  bytes.resize(used);
  return bytes;
}

template std::vector<char> read_file<char>(const std::string&);
template std::vector<std::uint8_t> read_file<std::uint8_t>(const std::string&);

}  // namespace augcore

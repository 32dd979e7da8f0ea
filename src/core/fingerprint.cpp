#include "augcore/core/fingerprint.h"

#include <fmt/core.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include "augcore/core/error.h"

namespace augcore {

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "'");
  std::uint64_t hash = 14695981039346656037ull;
  std::uint64_t size = 0;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(chunk[i]);
      hash *= 1099511628211ull;
    }
    size += n;
  }
  if (in.bad()) throw DataError("cannot read '" + path + "'");
  return fmt::format("{}:{:016x}", size, hash);
}

}  // namespace augcore

// Reading a whole file into memory in large blocks (datasets, checkpoints).
#pragma once

#include <string>
#include <vector>

namespace augcore {

// The bytes of `path` (Byte: char or std::uint8_t); DataError naming the file when it cannot be
// opened or read. A directory reads as no bytes, as a stream of it does.
template <typename Byte>
std::vector<Byte> read_file(const std::string& path);

}  // namespace augcore

// Reading a whole file into memory in large blocks (datasets, checkpoints).
#pragma once

#include <string>
#include <vector>

namespace augcore {

// The bytes of `path` (Byte: char or std::uint8_t); DataError naming the file when it cannot be
// opened or read (a directory: "cannot read '<path>': Is a directory").
template <typename Byte>
std::vector<Byte> read_file(const std::string& path);

}  // namespace augcore

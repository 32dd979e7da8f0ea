// Process-wide runtime settings: intra-op threads, and atomic file writes.
#pragma once

#include <cstdint>
#include <string>

namespace augcore {

// Sets LibTorch's intra-op thread count; 0 means one per core. Returns the count in use.
int configure_threads(std::int64_t requested);

// Writes `content` to `path` through a temporary file in the same folder, flushed and
// renamed over the target, so a crash never leaves a half-written file. Throws DataError.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace augcore

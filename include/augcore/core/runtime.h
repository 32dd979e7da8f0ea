// Process-wide runtime settings: intra-op threads, and atomic file writes.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace augcore {

// Sets LibTorch's intra-op thread count; 0 means one per core. Returns the count in use.
int configure_threads(std::int64_t requested);

// The device a recipe's `device` key names: auto (CUDA when available, else CPU), cpu, cuda,
// cuda:N. Throws ConfigError for anything else or for CUDA without CUDA.
c10::Device select_device(const std::string& text);

// Writes `content` to `path` through a temporary file in the same folder, flushed and
// renamed over the target, so a crash never leaves a half-written file. Throws DataError.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace augcore

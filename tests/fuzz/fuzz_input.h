// Helpers for fuzz targets: the fuzz input as files, split into parts, and the errors that
// bad input may raise (anything else escapes and is reported as a bug).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace augcore::fuzz {

// A file path private to this process (in /dev/shm when it exists), removed at exit.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& stem) {
    const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = dir + "/augcore-fuzz-" + std::to_string(getpid()) + "-" + stem;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(const std::uint8_t* data, std::size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path_;
  }

 private:
  std::string path_;
};

// Splits the input at its first `separator` byte (the second part is empty without one).
inline std::pair<std::string, std::string> split(const std::uint8_t* data, std::size_t size,
                                                 char separator) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const auto at = all.find(separator);
  if (at == std::string::npos) return {all, ""};
  return {all.substr(0, at), all.substr(at + 1)};
}

}  // namespace augcore::fuzz

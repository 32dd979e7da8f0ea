// Content fingerprints that tell whether a file (e.g. an augmentor checkpoint) has changed.
#pragma once

#include <string>

namespace augcore {

// "<size>:<FNV-1a 64-bit hash in hex>" of the file's bytes. Throws DataError when it cannot
// be read. Detects edits and replacements, not deliberate collisions.
std::string file_fingerprint(const std::string& path);

}  // namespace augcore

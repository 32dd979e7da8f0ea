#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "augcore/train/output/tensorboard.h"
#include "support/fixtures.h"

namespace augcore::train {
namespace {

// CRC-32C check values from RFC 3720, appendix B.4, and the usual "123456789" check.
TEST(TensorBoardTest, Crc32cMatchesPublishedVectors) {
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c(digits.data(), digits.size()), 0xE3069283u);
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i)
    ascending += static_cast<char>(i);
  EXPECT_EQ(crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
  // Masking: rotate right 15, add 0xA282EAD8 (mod 2^32), by hand for the digits' CRC.
  const std::uint32_t c = 0xE3069283u;
  EXPECT_EQ(masked_crc32c(digits.data(), digits.size()),
            static_cast<std::uint32_t>(((c >> 15) | (c << 17)) + 0xA282EAD8u));
}

// The first record of a new file, decoded by hand: an 8-byte length, its masked CRC, the
// Event {wall_time, step 0, file_version "brain.Event:2"}, the record's masked CRC.
TEST(TensorBoardTest, FileStartsWithTheVersionRecord) {
  testing::TempDir dir;
  std::string path;
  {
    EventWriter w(dir.path().string());
    path = w.path();
  }
  EXPECT_TRUE(is_event_file(std::filesystem::path(path).filename().string()));
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 16u);
  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  // 0x09 + 8 (wall_time) + 0x10 0x00 (step) + 0x1A 0x0D + 13 ("brain.Event:2") = 26 bytes.
  ASSERT_EQ(length, 26u);
  ASSERT_EQ(bytes.size(), 8 + 4 + length + 4);
  std::uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + 8, 4);
  EXPECT_EQ(crc, masked_crc32c(bytes.data(), 8));
  const std::string event = bytes.substr(12, length);
  EXPECT_EQ(event[0], '\x09');
  EXPECT_EQ(event.substr(9, 2), std::string("\x10\x00", 2));
  EXPECT_EQ(event.substr(11, 2), "\x1A\x0D");
  EXPECT_EQ(event.substr(13), "brain.Event:2");
  std::memcpy(&crc, bytes.data() + 12 + length, 4);
  EXPECT_EQ(crc, masked_crc32c(event.data(), event.size()));
}

}  // namespace
}  // namespace augcore::train

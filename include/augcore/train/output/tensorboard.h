// TensorBoard event files (events.out.tfevents.*) holding scalars, written without TensorFlow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace augcore::train {

// Writes one event file into a directory: TFRecord framing (length, masked CRC-32C of it, the
// record, masked CRC-32C of that) around `tensorflow.Event` protobuf messages. Only the
// fields augcore needs are encoded, by hand (docs/training.md, "TensorBoard"): Event
// {wall_time = 1: double, step = 2: int64, file_version = 3: string, summary = 5: Summary},
// Summary {value = 1: repeated Value}, Value {tag = 1: string, simple_value = 2: float}.
class EventWriter {
 public:
  // Creates `dir`/events.out.tfevents.<unix seconds>.<host>.<pid> and writes the
  // "brain.Event:2" version record. Throws std::runtime_error when it cannot be created.
  explicit EventWriter(const std::string& dir);
  // One scalar at a step; `wall_time` in seconds since the epoch.
  void scalar(const std::string& tag, double value, std::int64_t step, double wall_time);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void record(const std::string& bytes);
  std::string path_;
  std::ofstream out_;
};

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses it.
std::uint32_t crc32c(const void* data, std::size_t size);
// TFRecord's masking of a CRC: rotate right by 15, add 0xA282EAD8.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// True for names of TensorBoard event files.
bool is_event_file(const std::string& name);

}  // namespace augcore::train

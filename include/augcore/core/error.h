// Error types for bad user input; programs report them in one line and exit with code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace augcore {

// Exit status for every configuration, usage or input-data error.
inline constexpr int kUsageExitCode = 2;

// Base class of errors caused by what the user gave us (not by a bug).
class UsageError : public std::runtime_error {
 public:
  UsageError(std::string category, const std::string& message)
      : std::runtime_error(message), category_(std::move(category)) {}
  // Short prefix printed before the message, e.g. "config error".
  const std::string& category() const { return category_; }

 private:
  std::string category_;
};

// A config file, a --set override or a command-line option is wrong.
class ConfigError : public UsageError {
 public:
  explicit ConfigError(const std::string& message) : UsageError("config error", message) {}
};

// A data file (dataset, image, checkpoint) is missing, truncated or malformed.
class DataError : public UsageError {
 public:
  explicit DataError(const std::string& message) : UsageError("data error", message) {}
};

// An option of the library API (an options struct's field, or what a call was given) has an
// impossible value. Its message names the struct and field: "CutoutOptions.length: ...".
class OptionError : public ConfigError {
 public:
  OptionError(std::string owner, std::string option, std::string reason)
      : ConfigError(owner + "." + option + ": " + reason),
        option_(std::move(option)),
        reason_(std::move(reason)) {}
  const std::string& option() const { return option_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string option_, reason_;
};

}  // namespace augcore

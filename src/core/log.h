// Internal logging (spdlog); the library logs through these names only.
#pragma once

#include <spdlog/spdlog.h>

namespace augcore::log {

using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace augcore::log

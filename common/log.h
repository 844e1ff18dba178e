#pragma once
// Minimal leveled logging to stderr: one line per event, with time, level and the node's name.
//   KV_LOG(INFO) << "listening on " << addr;
// Levels: DEBUG (only with --verbose), INFO, WARN, ERROR, FATAL (aborts).

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace kv {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };

// Process-wide settings, set once in main().
void SetLogName(absl::string_view name);
void SetLogLevel(LogLevel min_level);
bool LogEnabled(LogLevel level);

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace kv

#define KV_LOG_LEVEL_DEBUG ::kv::LogLevel::kDebug
#define KV_LOG_LEVEL_INFO ::kv::LogLevel::kInfo
#define KV_LOG_LEVEL_WARN ::kv::LogLevel::kWarn
#define KV_LOG_LEVEL_ERROR ::kv::LogLevel::kError
#define KV_LOG_LEVEL_FATAL ::kv::LogLevel::kFatal

#define KV_LOG(level)                                       \
  if (!::kv::LogEnabled(KV_LOG_LEVEL_##level)) {            \
  } else                                                    \
    ::kv::LogLine(KV_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

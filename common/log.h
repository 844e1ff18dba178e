#pragma once
// Minimal leveled logging to stderr: one line per event, with time, level and the node's name.
//   KV_LOG(INFO) << "listening on " << addr;
// Levels: DEBUG (only with --log-level debug or --verbose), INFO, WARN, ERROR, FATAL (aborts).
// Formats: text ("2026-12-06T01:02:03.456Z INFO central file.cc:12] message") or JSON, one
// object per line: {"ts":"...","level":"INFO","node":"central","src":"file.cc:12","msg":"..."}.
// Thread-safe: lines from several threads never interleave (one write per line).

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace kv {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kFatal = 4 };
enum class LogFormat { kText, kJson };

// Process-wide settings, set once in main().
void SetLogName(absl::string_view name);
void SetLogLevel(LogLevel min_level);
void SetLogFormat(LogFormat format);
// "debug", "info", "warn", "error" (as --log-level takes them); false for anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* out);
bool LogEnabled(LogLevel level);

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

}  // namespace kv

#define KV_LOG_LEVEL_DEBUG ::kv::LogLevel::kDebug
#define KV_LOG_LEVEL_INFO ::kv::LogLevel::kInfo
#define KV_LOG_LEVEL_WARN ::kv::LogLevel::kWarn
#define KV_LOG_LEVEL_ERROR ::kv::LogLevel::kError
#define KV_LOG_LEVEL_FATAL ::kv::LogLevel::kFatal

#define KV_LOG(level)                            \
  if (!::kv::LogEnabled(KV_LOG_LEVEL_##level)) { \
  } else                                         \
    ::kv::LogLine(KV_LOG_LEVEL_##level, __FILE__, __LINE__).stream()

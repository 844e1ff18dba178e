#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kv {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
absl::Mutex g_name_mu;
std::string* g_name = new std::string("kv");

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kFatal:
      return "FATAL";
  }
  return "?";
}

std::string Name() {
  absl::MutexLock l(&g_name_mu);
  return *g_name;
}

// `text` as the contents of a JSON string (RFC 8259): quotes, backslashes and control
// characters escaped; other bytes as they are (messages are UTF-8 or escaped by their writers).
void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void SetLogFormat(LogFormat format) { g_json = format == LogFormat::kJson; }

bool ParseLogLevel(absl::string_view text, LogLevel* out) {
  if (text == "debug")
    *out = LogLevel::kDebug;
  else if (text == "info")
    *out = LogLevel::kInfo;
  else if (text == "warn")
    *out = LogLevel::kWarn;
  else if (text == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

void SetLogName(absl::string_view name) {
  absl::MutexLock l(&g_name_mu);
  *g_name = std::string(name);
}

void SetLogLevel(LogLevel min_level) { g_min_level = static_cast<int>(min_level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

LogLine::LogLine(LogLevel level, const char* file, int line)
    : level_(level), file_(file), line_(line) {
  absl::string_view f(file_);
  size_t slash = f.rfind('/');
  if (slash != absl::string_view::npos) f.remove_prefix(slash + 1);
  file_ = f.data();
  if (g_json.load(std::memory_order_relaxed)) return;  // the message alone; see ~LogLine
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << " "
          << LevelName(level) << " " << Name() << " " << f << ":" << line << "] ";
}

LogLine::~LogLine() {
  std::string text;
  if (g_json.load(std::memory_order_relaxed)) {
    text = "{\"ts\":\"";
    text += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
    text += "\",\"level\":\"";
    text += LevelName(level_);
    text += "\",\"node\":";
    AppendJsonString(Name(), &text);
    text += ",\"src\":";
    AppendJsonString(std::string(file_) + ":" + std::to_string(line_), &text);
    text += ",\"msg\":";
    AppendJsonString(stream_.str(), &text);
    text += "}\n";
  } else {
    stream_ << "\n";
    text = stream_.str();
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
  if (level_ == LogLevel::kFatal) {
    std::fflush(stderr);
    std::abort();
  }
}

}  // namespace kv

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

}  // namespace

void SetLogName(absl::string_view name) {
  absl::MutexLock l(&g_name_mu);
  *g_name = std::string(name);
}

void SetLogLevel(LogLevel min_level) { g_min_level = static_cast<int>(min_level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  absl::string_view f(file);
  size_t slash = f.rfind('/');
  if (slash != absl::string_view::npos) f.remove_prefix(slash + 1);
  std::string name;
  {
    absl::MutexLock l(&g_name_mu);
    name = *g_name;
  }
  stream_ << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()) << " "
          << LevelName(level) << " " << name << " " << f << ":" << line << "] ";
}

LogLine::~LogLine() {
  stream_ << "\n";
  std::string text = stream_.str();
  std::fwrite(text.data(), 1, text.size(), stderr);
  if (level_ == LogLevel::kFatal) {
    std::fflush(stderr);
    std::abort();
  }
}

}  // namespace kv

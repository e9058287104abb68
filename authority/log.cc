#include "authority/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>

#include "core/json.h"

namespace realdid::authority {
namespace {

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

LogField::LogField(LogText key, std::uint64_t v)
    : key_(key),
      value_(v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? std::numeric_limits<std::int64_t>::max()
                 : static_cast<std::int64_t>(v)) {}

std::string FormatLogLine(std::string_view ts, LogLevel level, LogText msg,
                          std::initializer_list<LogField> fields) {
  json::Object obj;
  obj.reserve(3 + fields.size());
  obj.emplace_back("ts", json::Value(ts));
  obj.emplace_back("level", json::Value(LogLevelName(level)));
  obj.emplace_back("msg", json::Value(msg.view()));
  json::Value v(std::move(obj));
  for (const LogField& f : fields) {
    // Reserved keys cannot be overwritten by a field.
    if (f.key() == "ts" || f.key() == "level" || f.key() == "msg") continue;
    std::visit([&](const auto& x) { v.set(std::string(f.key()), json::Value(x)); }, f.value());
  }
  return json::Serialize(v);
}

Logger& Logger::Global() {
  static Logger* logger = new Logger();  // never destroyed: usable from any static destructor
  return *logger;
}

Logger::Logger()
    : level_(LogLevel::kInfo), sink_([](std::string_view line) {
        std::string out(line);
        out.push_back('\n');
        std::fwrite(out.data(), 1, out.size(), stderr);
        std::fflush(stderr);
      }) {}

void Logger::SetLevel(LogLevel level) {
  std::lock_guard lock(mu_);
  level_ = level;
}

bool Logger::Enabled(LogLevel level) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(level) >= static_cast<int>(level_);
}

Logger::Sink Logger::SetSink(Sink sink) {
  std::lock_guard lock(mu_);
  Sink old = std::move(sink_);
  sink_ = std::move(sink);
  return old;
}

void Logger::Log(LogLevel level, LogText msg, std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  std::string line;
  try {
    line = FormatLogLine(NowRfc3339(), level, msg, fields);
  } catch (...) {
    return;  // logging never throws into the caller
  }
  std::lock_guard lock(mu_);
  try {
    if (sink_) sink_(line);
  } catch (...) {
  }
}

}  // namespace realdid::authority

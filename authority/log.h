// Structured JSON logging: one JSON object per line on stderr (or a test sink).
//
// Every line has "ts" (RFC 3339 UTC, milliseconds), "level", "msg" and then the caller's fields in
// order. The message and every field name must be string literals (consteval LogText), and values
// are typed fields (integer, bool, string). There is no printf-style formatting, so identity data
// or secrets cannot slip into a line by string interpolation; a Secret has no conversion to any
// field type. Callers must still never pass identity data or secret material as a field value.
// Thread-safety: Logger is thread-safe; lines from different threads never interleave.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

#include "authority/config.h"

namespace realdid::authority {

// A compile-time string: the only way to name a log message or a field.
class LogText {
 public:
  template <std::size_t N>
  consteval LogText(const char (&s)[N]) : s_(s, N - 1) {}  // NOLINT(google-explicit-constructor)
  constexpr std::string_view view() const noexcept { return s_; }

 private:
  std::string_view s_;
};

class LogField {
 public:
  using Value = std::variant<std::int64_t, bool, std::string>;
  LogField(LogText key, std::int64_t v) : key_(key), value_(v) {}
  LogField(LogText key, int v) : key_(key), value_(static_cast<std::int64_t>(v)) {}
  LogField(LogText key, bool v) : key_(key), value_(v) {}
  LogField(LogText key, std::string_view v) : key_(key), value_(std::string(v)) {}
  LogField(LogText key, const std::string& v) : key_(key), value_(v) {}
  LogField(LogText key, const char* v) : key_(key), value_(std::string(v)) {}
  // Unsigned values are clamped to int64 (JSON integers of the canonical serializer are int64).
  LogField(LogText key, std::uint64_t v);

  std::string_view key() const noexcept { return key_.view(); }
  const Value& value() const noexcept { return value_; }

 private:
  LogText key_;
  Value value_;
};

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;  // line without the trailing newline

  static Logger& Global();

  void SetLevel(LogLevel level);
  bool Enabled(LogLevel level) const;
  // Replaces the sink (default: stderr). Returns the previous sink. For tests.
  Sink SetSink(Sink sink);

  void Log(LogLevel level, LogText msg, std::initializer_list<LogField> fields);

 private:
  Logger();
  mutable std::mutex mu_;
  LogLevel level_;  // guarded by mu_
  Sink sink_;       // guarded by mu_
};

// Formats one line (without newline). Exposed for tests.
std::string FormatLogLine(std::string_view ts, LogLevel level, LogText msg,
                          std::initializer_list<LogField> fields);

inline void LogDebug(LogText msg, std::initializer_list<LogField> fields = {}) {
  Logger::Global().Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(LogText msg, std::initializer_list<LogField> fields = {}) {
  Logger::Global().Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(LogText msg, std::initializer_list<LogField> fields = {}) {
  Logger::Global().Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(LogText msg, std::initializer_list<LogField> fields = {}) {
  Logger::Global().Log(LogLevel::kError, msg, fields);
}

}  // namespace realdid::authority

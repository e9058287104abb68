// Strict JSON (RFC 8259 subset) and its one canonical serialization.
//
// Parse() accepts only what the protocol needs and refuses the rest with Error(kInvalidInput):
// duplicate object keys, numbers that are not plain integers in the int64 range (no fraction, no
// exponent), invalid UTF-8, unpaired surrogates, raw control characters, a byte-order mark, trailing
// data, nesting deeper than ParseLimits::max_depth, input larger than ParseLimits::max_bytes.
// Object members keep their order of appearance.
//
// Serialize() writes the canonical form used for every signed or hashed byte string of the protocol
// (docs/protocol.md): no whitespace, members in stored order, ASCII only (every non-ASCII code point
// as a lower-case \uXXXX escape, surrogate pairs above U+FFFF), the short escapes \" \\ \b \f \n \r \t,
// other control characters as \u00XX, '/' unescaped, integers in plain decimal.
// A document is canonical exactly when Serialize(Parse(text)) == text.
// Thread-safety: values are ordinary value types; functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace realdid::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;

enum class Type { kNull, kBool, kInt, kString, kArray, kObject };

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}  // NOLINT(google-explicit-constructor)
  Value(std::int64_t i) : v_(i) {}  // NOLINT(google-explicit-constructor)
  Value(int i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string s) : v_(std::move(s)) {}  // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(Array a) : v_(std::move(a)) {}  // NOLINT(google-explicit-constructor)
  Value(Object o) : v_(std::move(o)) {}  // NOLINT(google-explicit-constructor)

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool is_null() const noexcept { return type() == Type::kNull; }
  bool is_bool() const noexcept { return type() == Type::kBool; }
  bool is_int() const noexcept { return type() == Type::kInt; }
  bool is_string() const noexcept { return type() == Type::kString; }
  bool is_array() const noexcept { return type() == Type::kArray; }
  bool is_object() const noexcept { return type() == Type::kObject; }

  // Typed accessors throw Error(kInvalidInput) naming the expected type on a mismatch.
  bool as_bool() const;
  std::int64_t as_int() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object member lookup: find() returns nullptr when absent; at() throws Error(kInvalidInput)
  // "missing member <key>". Both require an object.
  const Value* find(std::string_view key) const;
  const Value& at(std::string_view key) const;
  // Sets a member of an object, replacing an existing one in place or appending a new one.
  Value& set(std::string key, Value value);

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, std::string, Array, Object> v_;
};

struct ParseLimits {
  std::size_t max_bytes = 1 << 20;
  std::size_t max_depth = 32;
};

Value Parse(std::string_view text, const ParseLimits& limits = {});
std::string Serialize(const Value& value);
// Quote one string as a canonical JSON string literal (with the quotes).
std::string Quote(std::string_view s);

}  // namespace realdid::json

#include "core/json.h"

#include <charconv>
#include <limits>

#include "core/error.h"

namespace realdid::json {

namespace {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "value";
}

[[noreturn]] void WrongType(Type want, Type got) {
  InvalidInput(std::string("JSON: expected ") + TypeName(want) + ", found " + TypeName(got));
}

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : s_(text), limits_(limits) {}

  Value ParseDocument() {
    if (s_.size() > limits_.max_bytes) Fail(ErrorKind::kTooLarge, "JSON: document too large");
    SkipWs();
    Value v = ParseValue(0);
    SkipWs();
    if (pos_ != s_.size()) Error("trailing data after the document");
    return v;
  }

 private:
  [[noreturn]] void Error(const std::string& what) const {
    InvalidInput("JSON: " + what + " at offset " + std::to_string(pos_));
  }

  void SkipWs() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void Expect(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) Error("invalid literal");
    pos_ += lit.size();
  }

  Value ParseValue(std::size_t depth) {
    if (pos_ >= s_.size()) Error("unexpected end of input");
    switch (s_[pos_]) {
      case '{': return ParseObject(depth + 1);
      case '[': return ParseArray(depth + 1);
      case '"': return Value(ParseString());
      case 't': Expect("true"); return Value(true);
      case 'f': Expect("false"); return Value(false);
      case 'n': Expect("null"); return Value(nullptr);
      default: return ParseNumber();
    }
  }

  Value ParseObject(std::size_t depth) {
    if (depth > limits_.max_depth) Error("nesting too deep");
    ++pos_;  // '{'
    Object obj;
    SkipWs();
    if (Consume('}')) return Value(std::move(obj));
    for (;;) {
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') Error("expected a member name");
      std::string key = ParseString();
      for (const auto& m : obj) {
        if (m.first == key) Error("duplicate member name");
      }
      SkipWs();
      if (!Consume(':')) Error("expected ':'");
      SkipWs();
      Value v = ParseValue(depth);
      obj.emplace_back(std::move(key), std::move(v));
      SkipWs();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      Error("expected ',' or '}'");
    }
    return Value(std::move(obj));
  }

  Value ParseArray(std::size_t depth) {
    if (depth > limits_.max_depth) Error("nesting too deep");
    ++pos_;  // '['
    Array arr;
    SkipWs();
    if (Consume(']')) return Value(std::move(arr));
    for (;;) {
      SkipWs();
      arr.push_back(ParseValue(depth));
      SkipWs();
      if (Consume(',')) continue;
      if (Consume(']')) break;
      Error("expected ',' or ']'");
    }
    return Value(std::move(arr));
  }

  Value ParseNumber() {
    const std::size_t start = pos_;
    Consume('-');
    if (pos_ >= s_.size()) Error("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    } else {
      Error("unexpected character");
    }
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      Error("only plain integers are accepted");
    }
    std::int64_t v = 0;
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last) Error("integer out of range");
    return Value(v);
  }

  unsigned ParseHex4() {
    if (s_.size() - pos_ < 4) Error("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        Error("invalid \\u escape");
      }
    }
    return v;
  }

  static void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Validates one UTF-8 sequence starting at pos_ (first byte >= 0x80) and copies it.
  void CopyUtf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0Fu;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07u;
    } else {
      Error("invalid UTF-8");
    }
    if (s_.size() - pos_ < len) Error("truncated UTF-8");
    for (std::size_t i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0u) != 0x80u) Error("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      Error("invalid UTF-8");
    }
    out.append(s_.substr(pos_, len));
    pos_ += len;
  }

  std::string ParseString() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) Error("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      const auto uc = static_cast<unsigned char>(c);
      if (uc < 0x20) Error("raw control character in string");
      if (uc >= 0x80) {
        CopyUtf8(out);
        continue;
      }
      if (c != '\\') {
        out.push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) Error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = ParseHex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) Error("unpaired surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.size() - pos_ < 2 || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
              Error("unpaired surrogate");
            }
            pos_ += 2;
            const std::uint32_t lo = ParseHex4();
            if (lo < 0xDC00 || lo > 0xDFFF) Error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default: Error("invalid escape");
      }
    }
  }

  std::string_view s_;
  ParseLimits limits_;
  std::size_t pos_ = 0;
};

void AppendEscapeU(std::string& out, std::uint32_t unit) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\u";
  out.push_back(kDigits[(unit >> 12) & 0xF]);
  out.push_back(kDigits[(unit >> 8) & 0xF]);
  out.push_back(kDigits[(unit >> 4) & 0xF]);
  out.push_back(kDigits[unit & 0xF]);
}

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20) {
            AppendEscapeU(out, c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Decode a UTF-8 sequence (strings built in memory may hold invalid UTF-8: those bytes are
    // refused rather than passed through, so the output is always valid ASCII JSON).
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      InvalidInput("JSON: string is not valid UTF-8");
    }
    if (s.size() - i < len) InvalidInput("JSON: string is not valid UTF-8");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0u) != 0x80u) InvalidInput("JSON: string is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      InvalidInput("JSON: string is not valid UTF-8");
    }
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      AppendEscapeU(out, 0xD800 + (v >> 10));
      AppendEscapeU(out, 0xDC00 + (v & 0x3FF));
    } else {
      AppendEscapeU(out, cp);
    }
    i += len;
  }
  out.push_back('"');
}

void AppendValue(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::kNull: out += "null"; break;
    case Type::kBool: out += v.as_bool() ? "true" : "false"; break;
    case Type::kInt: out += std::to_string(v.as_int()); break;
    case Type::kString: AppendQuoted(out, v.as_string()); break;
    case Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        AppendValue(out, e);
      }
      out.push_back(']');
      break;
    }
    case Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        AppendQuoted(out, k);
        out.push_back(':');
        AppendValue(out, e);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) WrongType(Type::kBool, type());
  return std::get<bool>(v_);
}
std::int64_t Value::as_int() const {
  if (!is_int()) WrongType(Type::kInt, type());
  return std::get<std::int64_t>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) WrongType(Type::kString, type());
  return std::get<std::string>(v_);
}
const Array& Value::as_array() const {
  if (!is_array()) WrongType(Type::kArray, type());
  return std::get<Array>(v_);
}
Array& Value::as_array() {
  if (!is_array()) WrongType(Type::kArray, type());
  return std::get<Array>(v_);
}
const Object& Value::as_object() const {
  if (!is_object()) WrongType(Type::kObject, type());
  return std::get<Object>(v_);
}
Object& Value::as_object() {
  if (!is_object()) WrongType(Type::kObject, type());
  return std::get<Object>(v_);
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : as_object()) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Value& Value::at(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) InvalidInput("JSON: missing member " + Quote(key));
  return *v;
}

Value& Value::set(std::string key, Value value) {
  auto& obj = as_object();
  for (auto& [k, v] : obj) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  obj.emplace_back(std::move(key), std::move(value));
  return obj.back().second;
}

Value Parse(std::string_view text, const ParseLimits& limits) {
  return Parser(text, limits).ParseDocument();
}

std::string Serialize(const Value& value) {
  std::string out;
  AppendValue(out, value);
  return out;
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

}  // namespace realdid::json

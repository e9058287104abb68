// FramingValidator: checks the plaintext byte stream of one HTTP/1.1 connection, as it arrives,
// against strict message framing, independently of Poco's lenient parser (which ignores a header
// line without a colon, accepts any "HTTP/x.y", and lets folded or control-character lines pass):
// request line "token SP visible-ASCII SP HTTP/1.1|HTTP/1.0" (empty lines before it ignored,
// RFC 9112 2.2), header lines "token: value" without folding or control characters (HTAB
// allowed), at most one Content-Length value (digits only, up to 18), then exactly that many body
// bytes, then the next request. A Transfer-Encoding ends the check (the connection layer refuses
// such requests and closes). Lines over 64 KiB end the check too (Poco's own limits refuse them).
// Used by authority/http_connection.cc; fuzzed by tests/fuzz/fuzz_http_framing.cc.
// Thread-safety: one validator per connection, fed from the connection's thread only.
// Security contract: Feed() never throws and never allocates more than one line (64 KiB) + 1.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace realdid::authority {

class FramingValidator {
 public:
  void Feed(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n && state_ != kOff; ++i) {
      if (state_ == kBody) {
        std::size_t take = static_cast<std::size_t>(
            std::min<std::uint64_t>(body_left_, static_cast<std::uint64_t>(n - i)));
        body_left_ -= take;
        i += take - 1;
        if (body_left_ == 0) state_ = kRequestLine;
        continue;
      }
      char c = p[i];
      if (c != '\n') {
        if (line_.size() > (std::size_t{1} << 16)) {
          state_ = kOff;  // Poco's own limits refuse this head
          continue;
        }
        line_.push_back(c);
        continue;
      }
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      Line();
      line_.clear();
    }
  }
  // Null while the stream is well framed; otherwise what is wrong (a fixed text).
  const char* error() const noexcept { return error_; }

 private:
  enum State { kRequestLine, kHeaders, kBody, kOff };

  static bool TChar(unsigned char c) {
    return std::isalnum(c) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                       std::string_view::npos;
  }
  void Refuse(const char* what) {
    error_ = what;
    state_ = kOff;
  }
  void Line() {
    for (char ch : line_) {
      auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7F) return Refuse("a control character in the request head");
    }
    if (state_ == kRequestLine) {
      if (line_.empty()) return;  // empty lines before a request line are ignored (RFC 9112 2.2)
      std::size_t a = line_.find(' ');
      std::size_t b = a == std::string::npos ? a : line_.find(' ', a + 1);
      if (a == std::string::npos || b == std::string::npos || a == 0 || b == a + 1 ||
          line_.find(' ', b + 1) != std::string::npos) {
        return Refuse("malformed request line");
      }
      for (std::size_t i = 0; i < a; ++i) {
        if (!TChar(static_cast<unsigned char>(line_[i]))) return Refuse("malformed request method");
      }
      for (std::size_t i = a + 1; i < b; ++i) {
        auto c = static_cast<unsigned char>(line_[i]);
        if (c <= 0x20 || c >= 0x7F) return Refuse("malformed request target");
      }
      std::string_view version = std::string_view(line_).substr(b + 1);
      if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        return Refuse("unsupported HTTP version (HTTP/1.1 or HTTP/1.0 only)");
      }
      state_ = kHeaders;
      length_.reset();
      chunked_ = false;
      return;
    }
    // kHeaders
    if (line_.empty()) {
      if (chunked_) {
        state_ = kOff;
      } else if (length_.value_or(0) > 0) {
        body_left_ = *length_;
        state_ = kBody;
      } else {
        state_ = kRequestLine;
      }
      return;
    }
    if (line_.front() == ' ' || line_.front() == '\t') return Refuse("obsolete header line folding");
    std::size_t colon = line_.find(':');
    if (colon == std::string::npos || colon == 0) return Refuse("a header line without a field name");
    for (std::size_t i = 0; i < colon; ++i) {
      if (!TChar(static_cast<unsigned char>(line_[i]))) return Refuse("malformed header field name");
    }
    std::string name = line_.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line_.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (name == "content-length") {
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != std::string::npos) {
        return Refuse("malformed Content-Length");
      }
      std::uint64_t v = std::stoull(value);
      if (length_ && *length_ != v) return Refuse("conflicting Content-Length values");
      length_ = v;
    } else if (name == "transfer-encoding") {
      chunked_ = true;
    }
  }

  State state_ = kRequestLine;
  std::string line_;
  std::optional<std::uint64_t> length_;
  bool chunked_ = false;
  std::uint64_t body_left_ = 0;
  const char* error_ = nullptr;
};

}  // namespace realdid::authority

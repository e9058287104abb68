// RawTls: a deliberately unhelpful HTTPS client for hostile-input and fault tests. It writes the
// exact bytes it is given (no HTTP library in between, so malformed heads, lying lengths and slow
// writes reach the server as written) over a real TLS connection verified against the test CA,
// and parses the answer loosely (status line, headers, body) so that a bodiless or truncated answer
// is visible as such.
// Thread-safety: one RawTls per thread; the free functions are reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realdid::testing {

struct RawResponse {
  int status = -1;  // -1: no status line arrived (connection closed or reset first)
  std::map<std::string, std::string> headers;  // names lower-cased; last one wins
  std::string body;
  std::string raw;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Parses the first final (non-1xx) answer in `raw`.
RawResponse ParseRawResponse(const std::string& raw);

class RawTls {
 public:
  // Connects to 127.0.0.1:port and completes the TLS handshake; ok() tells whether it worked.
  // io_timeout_ms bounds every single read/write.
  // cert_file/key_file: an optional client certificate (mutual TLS listeners).
  RawTls(std::uint16_t port, const std::string& ca_file, int io_timeout_ms = 30000,
         const std::string& cert_file = {}, const std::string& key_file = {});
  ~RawTls();
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;

  bool ok() const noexcept { return ssl_ != nullptr; }
  // Writes all of data; false when the connection broke.
  bool Write(std::string_view data);
  // Waits up to timeout_ms for readable data (decrypted or on the socket).
  bool Readable(int timeout_ms);
  // Reads what is available (blocking up to the io timeout); 0 on EOF, -1 on error/timeout.
  int Read(char* buf, int len);
  // Reads until EOF, error or timeout.
  std::string ReadAll();

 private:
  int fd_ = -1;
  void* ctx_ = nullptr;  // SSL_CTX
  void* ssl_ = nullptr;  // SSL
};

// Builds a request: the request line, Host, Connection: close, the given headers, Content-Type (if
// not empty) and Content-Length (if with_length), then the body.
std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, const std::string& content_type,
                         bool with_length = true);

// One connection: writes `request`, reads the whole answer.
RawResponse RawExchange(std::uint16_t port, const std::string& ca_file, const std::string& request,
                        int io_timeout_ms = 30000, const std::string& cert_file = {},
                        const std::string& key_file = {});

// The port of an https://host:port URL.
std::uint16_t PortOf(const std::string& url);

}  // namespace realdid::testing

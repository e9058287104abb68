#include "tests/hostile/raw_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace realdid::testing {

namespace {

SSL* S(void* p) { return static_cast<SSL*>(p); }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

RawResponse ParseRawResponse(const std::string& raw) {
  RawResponse r;
  r.raw = raw;
  std::size_t pos = 0;
  while (true) {
    if (raw.compare(pos, 9, "HTTP/1.1 ") != 0 && raw.compare(pos, 9, "HTTP/1.0 ") != 0) return r;
    if (raw.size() < pos + 12) return r;
    int status = std::atoi(raw.substr(pos + 9, 3).c_str());
    std::size_t end = raw.find("\r\n\r\n", pos);
    if (end == std::string::npos) return r;
    if (status >= 100 && status < 200) {  // interim answer (100 Continue)
      pos = end + 4;
      continue;
    }
    r.status = status;
    std::size_t line = raw.find("\r\n", pos) + 2;
    while (line < end) {
      std::size_t eol = raw.find("\r\n", line);
      std::string h = raw.substr(line, eol - line);
      std::size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(v.begin());
        r.headers[Lower(h.substr(0, colon))] = v;
      }
      line = eol + 2;
    }
    r.body = raw.substr(end + 4);
    std::string cl = r.header("content-length");
    if (!cl.empty()) {
      std::size_t n = static_cast<std::size_t>(std::stoull(cl));
      if (r.body.size() > n) r.body.resize(n);
    }
    return r;
  }
}

RawTls::RawTls(std::uint16_t port, const std::string& ca_file, int io_timeout_ms,
               const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ctx_ = ctx;
  if (!cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM);
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{};
  tv.tv_sec = io_timeout_ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((io_timeout_ms % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return;
  }
  ssl_ = ssl;
}

RawTls::~RawTls() {
  if (ssl_ != nullptr) SSL_free(S(ssl_));
  if (ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  if (fd_ >= 0) ::close(fd_);
  ERR_clear_error();
}

bool RawTls::Write(std::string_view data) {
  if (ssl_ == nullptr) return false;
  while (!data.empty()) {
    int chunk = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 14));
    int n = SSL_write(S(ssl_), data.data(), chunk);
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawTls::Readable(int timeout_ms) {
  if (ssl_ == nullptr) return false;
  if (SSL_pending(S(ssl_)) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

int RawTls::Read(char* buf, int len) {
  if (ssl_ == nullptr) return -1;
  int n = SSL_read(S(ssl_), buf, len);
  if (n > 0) return n;
  int err = SSL_get_error(S(ssl_), n);
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  // An EOF without close_notify also ends the answer.
  if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) return 0;
  return -1;
}

std::string RawTls::ReadAll() {
  std::string out;
  char buf[16384];
  while (true) {
    int n = Read(buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string BuildRequest(const std::string& method, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body, const std::string& content_type,
                         bool with_length) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  if (with_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

RawResponse RawExchange(std::uint16_t port, const std::string& ca_file, const std::string& request,
                        int io_timeout_ms, const std::string& cert_file,
                        const std::string& key_file) {
  RawTls t(port, ca_file, io_timeout_ms, cert_file, key_file);
  if (!t.ok()) return {};
  t.Write(request);  // a server that answers early may close before all is written
  return ParseRawResponse(t.ReadAll());
}

std::uint16_t PortOf(const std::string& url) {
  std::size_t colon = url.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

}  // namespace realdid::testing

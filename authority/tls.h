// TLS server contexts and listening sockets for every HTTPS port of the service.
//
// MakeServerTlsContext builds a Poco/OpenSSL server context that speaks TLS 1.2 and 1.3 only
// (SSLv3, TLS 1.0 and 1.1 disabled and the OpenSSL minimum protocol set to TLS 1.2), offers only
// ECDHE key exchange with AEAD ciphers on TLS 1.2, disables renegotiation and compression, and
// prefers the server's cipher order. With require_client_cert it demands and verifies a client
// certificate against ca_file (for the operator/auditor mTLS port); otherwise it asks for none.
// Errors (unreadable cert/key, key mismatch) throw Error(kInvalidInput) naming the file.
// Thread-safety: a context is immutable once built and may be shared by many sockets.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureServerSocket.h>

#include <cstdint>
#include <string>

namespace realdid::authority {

struct TlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  std::string ca_file;  // PEM CA bundle for client certificates (required with require_client_cert)
  bool require_client_cert = false;
  // Ask for a client certificate and verify it against ca_file when one is sent, but accept
  // connections without one (handlers check HttpRequest::peer_certificate_der). Ignored when
  // require_client_cert is set. Used by tools/ctid-sim, whose resident-facing routes need none.
  bool request_client_cert = false;
};

inline constexpr const char* kTls12CipherList =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
inline constexpr const char* kTls13CipherSuites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// Calls Poco::Net::initializeSSL() once per process.
void EnsureSslInitialized();

Poco::Net::Context::Ptr MakeServerTlsContext(const TlsOptions& options);

// A listening TLS socket bound to address:port (port 0 = any free port) with SO_REUSEADDR but
// without SO_REUSEPORT (no other process may share the port). Throws Error(kUnavailable) when the
// address cannot be bound.
Poco::Net::SecureServerSocket MakeTlsListener(const std::string& address, std::uint16_t port,
                                              const Poco::Net::Context::Ptr& context,
                                              int backlog = 128);

}  // namespace realdid::authority

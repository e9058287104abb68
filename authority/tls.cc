#include "authority/tls.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SocketAddress.h>
#include <openssl/ssl.h>

#include <mutex>

#include "core/error.h"

namespace realdid::authority {

void EnsureSslInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

Poco::Net::Context::Ptr MakeServerTlsContext(const TlsOptions& options) {
  EnsureSslInitialized();
  if (options.cert_file.empty() || options.key_file.empty()) {
    InvalidInput("tls: certificate and key files are required");
  }
  const bool verify_clients = options.require_client_cert || options.request_client_cert;
  if (verify_clients && options.ca_file.empty()) {
    InvalidInput("tls: a CA file is required to verify client certificates");
  }
  Poco::Net::Context::Params params;
  params.certificateFile = options.cert_file;
  params.privateKeyFile = options.key_file;
  params.caLocation = verify_clients ? options.ca_file : std::string();
  params.verificationMode = options.require_client_cert    ? Poco::Net::Context::VERIFY_STRICT
                            : options.request_client_cert ? Poco::Net::Context::VERIFY_RELAXED
                                                          : Poco::Net::Context::VERIFY_NONE;
  params.verificationDepth = 4;
  params.loadDefaultCAs = false;
  params.cipherList = kTls12CipherList;
  params.ecdhCurve = "X25519:P-256:P-384";
  Poco::Net::Context::Ptr ctx;
  try {
    ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
  } catch (const Poco::Exception& e) {
    InvalidInput("tls: cannot load certificate '" + options.cert_file + "' / key '" +
                 options.key_file + "': " + e.displayText());
  }
  ctx->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                        Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
  SSL_CTX* native = ctx->sslContext();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(native, kTls13CipherSuites) != 1) {
    Fail(ErrorKind::kInternal, "tls: cannot restrict protocol versions");
  }
  SSL_CTX_set_options(
      native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_check_private_key(native) != 1) {
    InvalidInput("tls: key '" + options.key_file + "' does not match certificate '" +
                 options.cert_file + "'");
  }
  return ctx;
}

Poco::Net::SecureServerSocket MakeTlsListener(const std::string& address, std::uint16_t port,
                                              const Poco::Net::Context::Ptr& context, int backlog) {
  try {
    Poco::Net::SecureServerSocket socket(context);
    socket.bind(Poco::Net::SocketAddress(address, port), /*reuseAddress=*/true,
                /*reusePort=*/false);
    socket.listen(backlog);
    return socket;
  } catch (const Poco::Exception& e) {
    Fail(ErrorKind::kUnavailable,
         "cannot listen on " + address + ":" + std::to_string(port) + ": " + e.displayText());
  }
}

}  // namespace realdid::authority

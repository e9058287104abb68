#include "ctid/http_gateway.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>
#include <openssl/ssl.h>

#include <cmath>
#include <fstream>
#include <istream>
#include <thread>

#include "core/error.h"
#include "ctid/wire.h"

namespace realdid::ctid {

namespace {

constexpr const char* kClientCipherList =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

void EnsureSsl() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

void RequireReadable(const std::string& path, const char* field) {
  if (path.empty()) InvalidInput(std::string("[ctid] ") + field + ": required");
  std::ifstream f(path);
  if (!f) InvalidInput(std::string("[ctid] ") + field + ": cannot read '" + path + "'");
}

struct Endpoint {
  std::string host;
  std::uint16_t port = 443;
  std::string path_prefix;
};

Endpoint ParseUrl(const std::string& url) {
  Endpoint e;
  try {
    Poco::URI uri(url);
    if (uri.getScheme() != "https") InvalidInput("[ctid] url: must be an https:// URL");
    if (uri.getHost().empty()) InvalidInput("[ctid] url: no host");
    if (!uri.getRawQuery().empty() || !uri.getFragment().empty() || !uri.getUserInfo().empty()) {
      InvalidInput("[ctid] url: no query, fragment or user info allowed");
    }
    e.host = uri.getHost();
    e.port = uri.getPort();
    e.path_prefix = uri.getPath();
    while (!e.path_prefix.empty() && e.path_prefix.back() == '/') e.path_prefix.pop_back();
  } catch (const Poco::Exception&) {
    InvalidInput("[ctid] url: not a valid URL");
  }
  return e;
}

// Exposes the connect step of a Poco HTTPS session, so that connecting (nothing sent yet) and
// sending are separate phases with separate retry rules.
class ConnectingSession final : public Poco::Net::HTTPSClientSession {
 public:
  using Poco::Net::HTTPSClientSession::HTTPSClientSession;
  void Connect() { reconnect(); }
};

// The real transport: one fresh mutually authenticated TLS connection per exchange.
class PocoTransport final : public Transport {
 public:
  PocoTransport(const HttpGatewayConfig& config, Endpoint endpoint)
      : endpoint_(std::move(endpoint)),
        connect_timeout_(std::chrono::duration_cast<std::chrono::microseconds>(
                             config.connect_timeout).count()),
        read_timeout_(
            std::chrono::duration_cast<std::chrono::microseconds>(config.read_timeout).count()),
        max_response_bytes_(config.max_response_bytes) {
    EnsureSsl();
    RequireReadable(config.client_cert_file, "client_cert_file");
    RequireReadable(config.client_key_file, "client_key_file");
    RequireReadable(config.ca_file, "ca_file");
    Poco::Net::Context::Params params;
    params.certificateFile = config.client_cert_file;
    params.privateKeyFile = config.client_key_file;
    params.caLocation = config.ca_file;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 4;
    params.loadDefaultCAs = false;
    params.cipherList = kClientCipherList;
    try {
      context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    } catch (const Poco::Exception& e) {
      InvalidInput("[ctid] cannot load client certificate '" + config.client_cert_file +
                   "' / key '" + config.client_key_file + "' / CA '" + config.ca_file +
                   "': " + e.displayText());
    }
    SSL_CTX* native = context_->sslContext();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
      Fail(ErrorKind::kInternal, "[ctid] cannot restrict TLS versions");
    }
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_check_private_key(native) != 1) {
      InvalidInput("[ctid] client key '" + config.client_key_file +
                   "' does not match certificate '" + config.client_cert_file + "'");
    }
  }

  HttpAnswer Post(const std::string& path, const Secret& body) override {
    // Phase 1: connect and handshake (bounded by connect_timeout; the server certificate and host
    // name are verified here). A failure here means nothing was sent.
    ConnectingSession session(endpoint_.host, endpoint_.port, context_);
    session.setTimeout(connect_timeout_, read_timeout_, read_timeout_);
    // Session-level keep-alive stops Poco from closing and silently re-opening the connection we
    // just made inside sendRequest(); the request itself says "Connection: close".
    session.setKeepAlive(true);
    try {
      session.Connect();
    } catch (const Poco::Exception&) {
      throw TransportFailure{FailureClass::kConnect};
    }
    // Phase 2: send. From here on the request may have reached CTID.
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setContentType("application/json");
      req.setContentLength64(static_cast<Poco::Int64>(body.size()));
      req.set("Accept", "application/json");
      req.setKeepAlive(false);
      if (!session.connected()) throw TransportFailure{FailureClass::kConnect};
      std::ostream& out = session.sendRequest(req);
      std::string_view b = body.reveal_string();
      out.write(b.data(), static_cast<std::streamsize>(b.size()));
      out.flush();
      if (!out) throw TransportFailure{FailureClass::kSend};
    } catch (const Poco::Exception&) {
      throw TransportFailure{FailureClass::kSend};
    }
    // Phase 3: the answer.
    HttpAnswer answer;
    try {
      Poco::Net::HTTPResponse resp;
      std::istream& in = session.receiveResponse(resp);
      answer.status = static_cast<int>(resp.getStatus());
      char buf[4096];
      while (in) {
        in.read(buf, sizeof buf);
        auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        if (answer.body.size() + n > max_response_bytes_) {
          throw TransportFailure{FailureClass::kBadResponse};
        }
        answer.body.append(buf, n);
      }
      if (in.bad()) throw TransportFailure{FailureClass::kReceive};
    } catch (const Poco::Exception&) {
      throw TransportFailure{FailureClass::kReceive};
    }
    return answer;
  }

 private:
  Endpoint endpoint_;
  Poco::Net::Context::Ptr context_;
  Poco::Timespan connect_timeout_;
  Poco::Timespan read_timeout_;
  std::size_t max_response_bytes_;
};

}  // namespace

void HttpGateway::ValidateConfig(const HttpGatewayConfig& c) {
  ParseUrl(c.url);
  if (c.connect_timeout.count() <= 0) InvalidInput("[ctid] connect_timeout: must be > 0");
  if (c.read_timeout.count() <= 0) InvalidInput("[ctid] read_timeout: must be > 0");
  if (c.max_response_bytes < 64) InvalidInput("[ctid] max_response_bytes: must be >= 64");
  ValidateRetryConfig(c.retry);
  CircuitBreaker::Validate(c.breaker);
}

HttpGateway::HttpGateway(HttpGatewayConfig config, std::shared_ptr<GatewayObserver> observer)
    : HttpGateway(std::move(config), std::move(observer), TestHooks{}) {}

// rng_ is seeded from the CSPRNG in the body below (it only jitters retry delays).
// NOLINTNEXTLINE(cert-msc51-cpp)
HttpGateway::HttpGateway(HttpGatewayConfig config, std::shared_ptr<GatewayObserver> observer,
                         TestHooks hooks)
    : config_((ValidateConfig(config), std::move(config))),
      observer_(std::move(observer)),
      transport_(std::move(hooks.transport)),
      sleep_(std::move(hooks.sleep)),
      uniform01_(std::move(hooks.uniform01)),
      clock_(std::move(hooks.clock)),
      breaker_(config_.breaker, clock_, [obs = observer_.get()](BreakerState s) {
        if (obs != nullptr) obs->OnBreakerState(s);
      }) {
  Endpoint endpoint = ParseUrl(config_.url);
  verify_path_ = endpoint.path_prefix + std::string(kVerifyPath);
  if (!transport_) transport_ = std::make_shared<PocoTransport>(config_, std::move(endpoint));
  Bytes seed = RandomBytes(8);
  std::uint64_t s = 0;
  for (std::uint8_t b : seed) s = (s << 8) | b;
  rng_.seed(s);
}

HttpGateway::~HttpGateway() = default;

double HttpGateway::Uniform01() {
  if (uniform01_) return uniform01_();
  std::lock_guard lock(rng_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

void HttpGateway::Sleep(std::chrono::milliseconds d) {
  if (sleep_) {
    sleep_(d);
  } else if (d.count() > 0) {
    std::this_thread::sleep_for(d);
  }
}

void HttpGateway::Observe(std::string_view result, double seconds) noexcept {
  if (observer_) observer_->OnRequest(result, seconds);
}

Outcome HttpGateway::Verify(const VerifyRequest& request) {
  const Secret body = EncodeVerifyRequest(request);
  for (int attempt = 1;; ++attempt) {
    if (!breaker_.Allow()) {
      Observe("breaker_open", 0.0);
      Fail(ErrorKind::kUnavailable, "CTID circuit breaker is open");
    }
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&start] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    FailureClass failure = FailureClass::kReceive;
    int status = 0;
    try {
      HttpAnswer answer = transport_->Post(verify_path_, body);
      status = answer.status;
      if (status == 200) {
        try {
          Outcome outcome = ParseVerifyResponse(answer.body);
          breaker_.RecordSuccess();
          Observe(OutcomeName(outcome), elapsed());
          return outcome;
        } catch (const Error&) {
          failure = FailureClass::kBadResponse;
        }
      } else if (status >= 500 && status <= 599) {
        failure = FailureClass::kServerError;
      } else {
        failure = FailureClass::kClientError;
      }
    } catch (const TransportFailure& f) {
      failure = f.failure;
    } catch (const std::exception&) {
      failure = FailureClass::kReceive;  // unexpected: treat as "may have reached CTID"
    }
    Observe(FailureClassName(failure), elapsed());
    if (failure == FailureClass::kClientError) {
      breaker_.RecordSuccess();  // CTID is up; it refused this request
      Fail(ErrorKind::kUnavailable,
           "CTID refused the verification request with HTTP " + std::to_string(status));
    }
    breaker_.RecordFailure();
    if (!IsRetryable(failure) || attempt >= config_.retry.max_attempts) {
      Fail(ErrorKind::kUnavailable, "CTID verification failed after " + std::to_string(attempt) +
                                        " attempt(s): " + std::string(FailureClassName(failure)));
    }
    Sleep(BackoffDelay(config_.retry, attempt, Uniform01()));
  }
}

int HttpGateway::RetryAfterSeconds() const noexcept {
  try {
    auto remaining = breaker_.RemainingOpen();
    auto secs = std::chrono::ceil<std::chrono::seconds>(remaining).count();
    if (secs < 1) return 1;
    if (secs > 3600) return 3600;
    return static_cast<int>(secs);
  } catch (...) {
    return 1;
  }
}

}  // namespace realdid::ctid

// The BENCHMARK-ONLY plain-HTTP listener ([bench] plain_http_port; off by default): the RFC 9578
// token endpoint measured by scripts/bench.sh against the Go peer (../shared/peers/go-issuer) over
// the same transport, plain HTTP/1.1 on loopback.
//
// It serves exactly two routes, both on the same PrivacyPassIssuer as the public listener:
//   POST <request_path> (default /v1/privacypass/token-request): WITHOUT attestation and quota;
//   GET  /.well-known/private-token-issuer-directory, whose issuer-request-uri is the path alone
//        (relative, RFC 9578 4), so clients post back to this listener.
// Every other request is 404 (405 for another method on those paths), as RFC 9457 problems through
// the same HttpsServer stack (Router, problem mapping, access log, metrics) as the public port.
// Security contract: no attestation means anyone who can connect gets tokens, so the listener is
// refused (Error(kInvalidInput)) on any address that is not a literal loopback address (config
// validation and HttpsServer both check), and it logs a warning at startup. Never in production.
// Thread-safety: as HttpsServer (start/stop from one thread; handlers on the server's pool).
#pragma once

#include <memory>

#include "authority/config.h"
#include "authority/http_server.h"
#include "authority/router.h"
#include "privacypass/issuer.h"

namespace realdid::authority {

class Metrics;

// The two bench routes on a fresh router.
std::shared_ptr<Router> MakeBenchTokenRouter(privacypass::PrivacyPassIssuer& issuer);

// Listener options from [bench] and [server] (limits, timeouts), plain HTTP, named "bench".
HttpServerOptions BenchListenerOptions(const BenchConfig& bench, const ServerConfig& server);

// Builds, starts and announces (warning log line) the bench listener; the issuer and metrics
// (may be null) must outlive it. Throws Error(kInvalidInput) when the address is not loopback or
// the port is unset, Error(kUnavailable) when it cannot bind.
std::unique_ptr<HttpsServer> StartBenchListener(const BenchConfig& bench,
                                                const ServerConfig& server,
                                                privacypass::PrivacyPassIssuer& issuer,
                                                Metrics* metrics);

}  // namespace realdid::authority

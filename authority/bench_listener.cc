#include "authority/bench_listener.h"

#include "authority/log.h"
#include "authority/privacypass_routes.h"
#include "core/error.h"

namespace realdid::authority {

std::shared_ptr<Router> MakeBenchTokenRouter(privacypass::PrivacyPassIssuer& issuer) {
  auto router = std::make_shared<Router>();
  PrivacyPassRouteOptions options;
  options.require_attestation = false;
  options.relative_request_uri = true;
  AddPrivacyPassRoutes(*router, issuer, options);
  return router;
}

HttpServerOptions BenchListenerOptions(const BenchConfig& bench, const ServerConfig& server) {
  if (!bench.plain_http_port) InvalidInput("[bench] plain_http_port is not set");
  HttpServerOptions o = HttpServerOptions::FromConfig(server);
  o.name = "bench";
  o.plain_http = true;
  o.tls = TlsOptions{};
  o.listen_address = bench.plain_http_address;
  o.port = *bench.plain_http_port;
  return o;
}

std::unique_ptr<HttpsServer> StartBenchListener(const BenchConfig& bench,
                                                const ServerConfig& server,
                                                privacypass::PrivacyPassIssuer& issuer,
                                                Metrics* metrics) {
  HttpServerOptions options = BenchListenerOptions(bench, server);
  if (!IsLoopbackAddress(options.listen_address)) {
    InvalidInput("[bench] plain_http_address: the benchmark listener is refused on a non-loopback "
                 "address");
  }
  auto listener = std::make_unique<HttpsServer>(options, MakeBenchTokenRouter(issuer), metrics);
  listener->Start();
  LogWarn("BENCHMARK-ONLY plain-HTTP listener: Privacy Pass tokens WITHOUT attestation or quota; "
          "never enable [bench] in production",
          {{"listener", "bench"}, {"url", listener->url()}});
  return listener;
}

}  // namespace realdid::authority

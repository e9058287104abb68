// realdid-authority: the issuance authority service.
//
//   realdid-authority --config FILE
//
// Loads and validates the configuration (environment REALDID_<SECTION>_<KEY> overrides the file),
// opens the HSM token and the database pool, serves the public HTTPS API and the internal
// /metrics endpoint, prints both URLs on stdout, and on SIGTERM/SIGINT stops accepting, drains
// in-flight requests up to [server] drain_timeout and exits 0. Exit 1 on a startup error, 2 on
// bad usage. Logs are JSON lines on stderr.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authority/access_limiter.h"
#include "authority/audit_checkpointer.h"
#include "authority/admin_routes.h"
#include "authority/backend_metrics.h"
#include "authority/bench_listener.h"
#include "authority/config.h"
#include "authority/health.h"
#include "authority/http_server.h"
#include "authority/issuance_routes.h"
#include "authority/privacypass_routes.h"
#include "authority/key_manifest.h"
#include "authority/log.h"
#include "authority/metrics.h"
#include "authority/readiness.h"
#include "authority/revocation_routes.h"
#include "authority/router.h"
#include "authority/shutdown_signal.h"
#include "authority/wellknown_routes.h"
#include "core/error.h"
#include "ctid/http_gateway.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "issuance/clock.h"
#include "issuance/service.h"

#ifndef REALDID_AUTHORITY_VERSION
#define REALDID_AUTHORITY_VERSION "0.0.0"
#endif

namespace {

using namespace realdid;             // NOLINT(google-build-using-namespace)
using namespace realdid::authority;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kVersion = REALDID_AUTHORITY_VERSION;
constexpr auto kCheckTimeout = std::chrono::seconds(2);

void Usage(std::FILE* out) {
  std::fputs("usage: realdid-authority --config FILE\n       realdid-authority --version\n", out);
}

int Serve(const std::string& config_path) {
  AuthorityConfig config = LoadConfig(config_path, ProcessEnvironment());
  Logger::Global().SetLevel(config.log.level);

  // Before any thread starts, so every thread inherits the handlers' effect (self-pipe).
  ShutdownSignal signals;

  Metrics metrics(kVersion);
  HsmMetrics hsm_metrics(metrics);

  hsm::TokenConfig token_config;
  token_config.module_path = config.hsm.module_path;
  token_config.token_label = config.hsm.token_label;
  token_config.pin = ReadSecretFile(config.hsm.pin_file, "[hsm] pin_file");
  token_config.pool_size = static_cast<std::size_t>(config.hsm.pool_size);
  std::unique_ptr<hsm::Token> token = hsm::Token::Open(token_config, &hsm_metrics);
  token_config.pin.wipe();

  db::PoolConfig pool_config;
  pool_config.dsn = BuildDatabaseDsn(config.db);
  pool_config.size = static_cast<std::size_t>(config.db.pool_size);
  pool_config.observer = std::make_shared<DbMetrics>(metrics);
  db::Pool pool(std::move(pool_config));

  // Readiness of the HSM includes finding every issuance-token key the ceremony recorded.
  std::vector<hsm::KeyRef> issuance_keys;
  const std::vector<ManifestKey> manifest = LoadKeyManifest(config.hsm.keys_manifest);
  for (const ManifestKey& k : manifest) {
    if (k.token == config.hsm.token_label) issuance_keys.push_back(hsm::KeyRef{k.label, k.cka_id});
    if (k.exp) metrics.SetSigningKeyNotAfter(k.kid, *k.exp);
  }
  if (issuance_keys.empty()) {
    LogWarn("key manifest lists no key on the issuance token",
            {{"token", config.hsm.token_label}, {"manifest", config.hsm.keys_manifest}});
  }

  ReadinessChecks checks;
  checks.Add(
      "hsm", [&token, &issuance_keys] { token->Ping(issuance_keys); }, kCheckTimeout);
  checks.Add(
      "database", [&pool] { pool.Ping(); }, kCheckTimeout);

  auto router = std::make_shared<Router>();
  AddHealthRoutes(*router, checks, &metrics);

  // Fair blind issuance, served when the CTID adapter is configured.
  issuance::SystemClock clock;
  std::unique_ptr<ctid::HttpGateway> ctid_gateway;
  std::unique_ptr<IssuanceMetrics> issuance_metrics;
  std::unique_ptr<issuance::IssuanceService> issuance_service;
  std::unique_ptr<revocation::RevocationService> revocation_service;
  std::unique_ptr<AccessLimiter> access_limiter;
  std::unique_ptr<privacypass::PrivacyPassIssuer> privacypass_issuer;
  if (!config.ctid.base_url.empty()) {
    ctid::HttpGatewayConfig cc;
    cc.url = config.ctid.base_url;
    cc.client_cert_file = config.ctid.client_cert_file;
    cc.client_key_file = config.ctid.client_key_file;
    cc.ca_file = config.ctid.ca_file;
    cc.connect_timeout = config.ctid.connect_timeout;
    cc.read_timeout = config.ctid.read_timeout;
    cc.retry.max_attempts = config.ctid.max_attempts;
    cc.retry.initial_backoff = config.ctid.initial_backoff;
    cc.retry.max_backoff = config.ctid.max_backoff;
    cc.breaker.failure_threshold = config.ctid.breaker_failure_threshold;
    cc.breaker.open_duration = config.ctid.breaker_open_duration;
    ctid_gateway = std::make_unique<ctid::HttpGateway>(cc, std::make_shared<CtidMetrics>(metrics));

    issuance::Settings settings;
    settings.iss = config.issuance.iss;
    settings.k = config.issuance.k;
    settings.min_k = config.issuance.min_k;
    settings.credential_lifetime = config.issuance.credential_lifetime;
    settings.session_ttl = config.issuance.session_ttl;
    settings.nonce_ttl = config.issuance.nonce_ttl;
    settings.lockout = config.issuance.lockout;
    settings.max_active_credentials = config.issuance.max_active_credentials;
    issuance_metrics = std::make_unique<IssuanceMetrics>(metrics);
    issuance_service = std::make_unique<issuance::IssuanceService>(
        settings, IssuanceKeysFromManifest(manifest, config.hsm.token_label), *token, pool,
        *ctid_gateway, clock, issuance_metrics.get());
    AccessLimitSettings limits;
    limits.enabled = config.limits.enabled;
    limits.rate_per_minute = config.limits.rate_per_minute;
    limits.burst = config.limits.burst;
    limits.max_sources = static_cast<std::size_t>(config.limits.max_sources);
    limits.ctid_failures = config.limits.ctid_failures;
    limits.ctid_failure_window = config.limits.ctid_failure_window;
    limits.ctid_block = config.limits.ctid_block;
    access_limiter = std::make_unique<AccessLimiter>(limits);
    AddIssuanceRoutes(*router, *issuance_service, access_limiter.get());
    // Revocation (docs/protocol.md 9): signed per-key lists, holder revocation.
    revocation_service = MakeRevocationService(manifest, config.hsm.token_label,
                                               issuance_service->keys(), settings.iss, *token,
                                               pool, clock);
    if (revocation_service) AddRevocationRoutes(*router, *revocation_service, clock);
    // Privacy Pass tokens (docs/protocol.md 11), when keys.json lists a "privacypass" key.
    if (std::vector<privacypass::TokenKey> pp_keys =
            PrivacyPassKeysFromManifest(manifest, config.hsm.token_label);
        !pp_keys.empty()) {
      privacypass::IssuerSettings pp;
      pp.iss = settings.iss;
      pp.daily_quota = config.privacypass.daily_quota;
      pp.max_batch = static_cast<std::size_t>(config.privacypass.max_batch);
      privacypass_issuer = std::make_unique<privacypass::PrivacyPassIssuer>(
          pp, std::move(pp_keys), PrivacyPassCredentialKeys(issuance_service->keys()), *token,
          pool, clock);
      AddPrivacyPassRoutes(*router, *privacypass_issuer);
    } else {
      LogWarn("key manifest lists no privacypass key: Privacy Pass endpoints are not served", {});
    }
    AddWellKnownRoutes(*router, issuance_service->keys(), issuance_service->settings(), clock,
                       RevocationListJwk(manifest, config.hsm.token_label));
  } else {
    LogWarn("[ctid] base_url not set: issuance endpoints are not served", {});
  }

  // Signed audit checkpoints ([audit]; authority/audit_checkpointer.h), stopped before the pool.
  std::unique_ptr<AuditCheckpointer> audit_checkpointer = StartAuditCheckpointer(
      config.audit, manifest, config.hsm.token_label, pool, *token, metrics);

  MetricsExposer exposer(metrics, config.metrics.listen_address, config.metrics.port);
  HttpsServer server(HttpServerOptions::FromConfig(config.server), router, &metrics);
  server.Start();

  // The operator/auditor listener ([admin]): mutual TLS against the internal CA, role-checked
  // routes (authority/admin_routes.h). Other components add their operator routes to admin_router.
  auto admin_router = std::make_shared<Router>();
  std::unique_ptr<HttpsServer> admin_server;
  if (config.admin.port) {
    AddAdminRoutes(*admin_router, AdminContext{&pool, &clock, std::string(kVersion)});
    // Operator routes of other components go here, each wrapped by Privileged().
    if (revocation_service) AddOperatorRevocationRoutes(*admin_router, *revocation_service, pool);
    HttpServerOptions admin_options = HttpServerOptions::FromConfig(config.server);
    admin_options.name = "admin";
    admin_options.listen_address = config.admin.listen_address;
    admin_options.port = *config.admin.port;
    admin_options.tls.cert_file = config.admin.tls_cert_file;
    admin_options.tls.key_file = config.admin.tls_key_file;
    admin_options.tls.ca_file = config.admin.client_ca_file;
    // A certificate that does not chain to the internal CA fails the handshake; a connection
    // without one reaches the routes, which all answer 401 (Privileged) as a problem document.
    admin_options.tls.require_client_cert = false;
    admin_options.tls.request_client_cert = true;
    admin_server = std::make_unique<HttpsServer>(admin_options, admin_router, &metrics);
    admin_server->Start();
  }

  // BENCHMARK ONLY ([bench] plain_http_port, loopback only): authority/bench_listener.h.
  std::unique_ptr<HttpsServer> bench_server;
  if (config.bench.plain_http_port) {
    if (!privacypass_issuer) InvalidInput("[bench] plain_http_port needs a privacypass key");
    bench_server = StartBenchListener(config.bench, config.server, *privacypass_issuer, &metrics);
  }

  std::cout << "public " << server.url() << "\n"
            << "metrics " << exposer.url() << std::endl;
  if (admin_server) std::cout << "admin " << admin_server->url() << std::endl;
  if (bench_server) std::cout << "bench " << bench_server->url() << std::endl;
  LogInfo("authority started", {{"version", kVersion},
                                {"public_url", server.url()},
                                {"metrics_url", exposer.url()},
                                {"hsm_token", token->label()},
                                {"database", pool.description()}});

  int sig = signals.Wait();
  LogInfo("shutdown requested", {{"signal", sig}});
  if (admin_server) admin_server->Stop();
  if (bench_server) bench_server->Stop();
  bool drained = server.Stop();
  LogInfo("authority stopped", {{"drained", drained}});
  if (!drained) {
    // Handlers still running past the drain timeout are abandoned: exit without unwinding.
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.substr(0, 9) == "--config=") {
      config_path = std::string(arg.substr(9));
    } else if (arg == "--version") {
      std::printf("realdid-authority %s\n", REALDID_AUTHORITY_VERSION);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return 0;
    } else {
      Usage(stderr);
      return 2;
    }
  }
  if (config_path.empty()) {
    Usage(stderr);
    return 2;
  }
  try {
    return Serve(config_path);
  } catch (const realdid::Error& e) {
    LogError("startup failed",
             {{"kind", realdid::ErrorKindName(e.kind())}, {"detail", e.detail()}});
    std::fprintf(stderr, "realdid-authority: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    LogError("startup failed", {{"kind", "unexpected"}, {"detail", e.what()}});
    std::fprintf(stderr, "realdid-authority: %s\n", e.what());
    return 1;
  }
}

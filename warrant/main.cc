// realdid-warrant: the warrant component (BRIEF section 6), its own process.
//
//   realdid-warrant --config FILE                          serve the mutual-TLS warrant API
//   realdid-warrant --config FILE --genesis-roster ROSTER  load the genesis auditor roster once
//
// Serving: loads the configuration, logs in to the ESCROW token (this is the only process that
// holds its PIN) and to the issuance token for identity decryption only, opens the database pool
// (role realdid_warrant), serves the routes of warrant/routes.h on a listener that requires a
// client certificate from [server] tls_ca_file, prints "warrant https://..." on stdout and on
// SIGTERM/SIGINT drains and exits 0. Exit 1 on a startup error, 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "authority/health.h"
#include "authority/http_server.h"
#include "authority/log.h"
#include "authority/readiness.h"
#include "authority/router.h"
#include "authority/shutdown_signal.h"
#include "core/error.h"
#include "db/pool.h"
#include "hsm/token.h"
#include "warrant/config.h"
#include "warrant/routes.h"
#include "warrant/service.h"

#ifndef REALDID_WARRANT_VERSION
#define REALDID_WARRANT_VERSION "0.0.0"
#endif

namespace {

using namespace realdid;             // NOLINT(google-build-using-namespace)
using namespace realdid::authority;  // NOLINT(google-build-using-namespace)

constexpr auto kCheckTimeout = std::chrono::seconds(2);

void Usage(std::FILE* out) {
  std::fputs(
      "usage: realdid-warrant --config FILE [--genesis-roster ROSTER.json]\n"
      "       realdid-warrant --version\n",
      out);
}

std::unique_ptr<db::Pool> MakePool(const warrant::WarrantConfig& config) {
  db::PoolConfig pc;
  pc.dsn = BuildDatabaseDsn(config.db);
  pc.size = static_cast<std::size_t>(config.db.pool_size);
  return std::make_unique<db::Pool>(std::move(pc));
}

std::unique_ptr<hsm::Token> OpenToken(const std::string& module, const std::string& label,
                                      const std::string& pin_file, int pool_size,
                                      std::string_view what) {
  hsm::TokenConfig tc;
  tc.module_path = module;
  tc.token_label = label;
  tc.pin = ReadSecretFile(pin_file, what);
  tc.pool_size = static_cast<std::size_t>(pool_size);
  std::unique_ptr<hsm::Token> t = hsm::Token::Open(tc);
  tc.pin.wipe();
  return t;
}

int Genesis(const warrant::WarrantConfig& config, const std::string& roster_path) {
  std::ifstream in(roster_path, std::ios::binary);
  if (!in) InvalidInput("cannot open genesis roster '" + roster_path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::unique_ptr<db::Pool> pool = MakePool(config);
  auto auditors = warrant::WarrantService::LoadGenesis(*pool, ss.str(), config.warrant.approvals);
  for (const auto& a : auditors) std::cout << "auditor " << a.id << " " << a.label << "\n";
  LogInfo("genesis roster loaded", {{"auditors", static_cast<std::int64_t>(auditors.size())}});
  return 0;
}

int Serve(const warrant::WarrantConfig& config) {
  ShutdownSignal signals;

  std::unique_ptr<hsm::Token> escrow =
      OpenToken(config.hsm.module_path, config.hsm.token_label, config.hsm.pin_file,
                config.hsm.pool_size, "[hsm] pin_file");
  std::unique_ptr<hsm::Token> identity =
      OpenToken(config.hsm.module_path, config.identity.token_label, config.identity.pin_file, 1,
                "[identity] pin_file");
  std::unique_ptr<db::Pool> pool = MakePool(config);

  warrant::ServiceKeys keys = warrant::KeysFromManifest(
      config.hsm.keys_manifest, config.hsm.token_label, config.identity.token_label);
  const hsm::KeyRef escrow_key = keys.escrow;
  warrant::ServiceSettings settings;
  settings.approvals = config.warrant.approvals;
  settings.max_lifetime = config.warrant.max_lifetime;
  warrant::WarrantService service(settings, std::move(keys), *pool, *escrow, *identity,
                                  [] { return static_cast<std::int64_t>(std::time(nullptr)); });

  ReadinessChecks checks;
  checks.Add(
      "hsm", [&escrow, &escrow_key] { escrow->Ping(std::span<const hsm::KeyRef>(&escrow_key, 1)); },
      kCheckTimeout);
  checks.Add("database", [&pool] { pool->Ping(); }, kCheckTimeout);

  auto router = std::make_shared<Router>();
  AddHealthRoutes(*router, checks, nullptr);
  warrant::AddWarrantRoutes(*router, service, *pool);
  // Mutual TLS only: every route, health included, answers 401 without a client certificate.
  auto guarded = std::make_shared<Router>();
  for (const Route& r : router->routes()) {
    Handler inner = r.handler;
    guarded->Add(r.method, r.pattern, [inner](const HttpRequest& req) {
      if (req.peer_certificate_der.empty()) {
        throw Error(ErrorKind::kUnauthorized, "client certificate required");
      }
      return inner(req);
    }, r.options);
  }

  HttpServerOptions options = HttpServerOptions::FromConfig(config.server);
  options.name = "warrant";
  // The handshake verifies any client certificate against [server] tls_ca_file (the internal CA)
  // and fails for a certificate from another CA; a connection without one gets 401 above. (Poco's
  // VERIFY_STRICT server mode also matches the client certificate's name against the client's
  // address, which operator certificates never carry, so it is not used; the admin listener of
  // the authority does the same.)
  options.tls.request_client_cert = true;
  HttpsServer server(options, guarded, nullptr);
  server.Start();
  std::cout << "warrant " << server.url() << std::endl;
  LogInfo("warrant component started", {{"version", REALDID_WARRANT_VERSION},
                                         {"url", server.url()},
                                         {"escrow_token", escrow->label()},
                                         {"approvals", config.warrant.approvals},
                                         {"database", pool->description()}});
  int sig = signals.Wait();
  LogInfo("shutdown requested", {{"signal", sig}});
  bool drained = server.Stop();
  LogInfo("warrant component stopped", {{"drained", drained}});
  if (!drained) {
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string genesis;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--genesis-roster" && i + 1 < argc) {
      genesis = argv[++i];
    } else if (arg == "--version") {
      std::printf("realdid-warrant %s\n", REALDID_WARRANT_VERSION);
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
    warrant::WarrantConfig config = warrant::LoadWarrantConfig(config_path, ProcessEnvironment());
    Logger::Global().SetLevel(config.log.level);
    if (!genesis.empty()) return Genesis(config, genesis);
    return Serve(config);
  } catch (const realdid::Error& e) {
    LogError("warrant component failed",
             {{"kind", realdid::ErrorKindName(e.kind())}, {"detail", e.detail()}});
    std::fprintf(stderr, "realdid-warrant: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    LogError("warrant component failed", {{"kind", "unexpected"}, {"detail", e.what()}});
    std::fprintf(stderr, "realdid-warrant: %s\n", e.what());
    return 1;
  }
}

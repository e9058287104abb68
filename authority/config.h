// AuthorityConfig — the typed, validated configuration of the realdid-authority service.
//
// Source: a strict INI file (known sections and keys only, no duplicates, no key outside a section)
// overlaid by environment variables REALDID_<SECTION>_<KEY> (upper case), which take precedence.
// Every value is parsed and range-checked at startup; a bad value throws Error(kInvalidInput) whose
// text names the key ("[server] port: ..."), never the value of a secret.
// Security contract: the configuration holds only paths to secrets (HSM PIN, database password or
// full DSN), never the secrets themselves. ReadSecretFile() and BuildDatabaseDsn() load them into a
// wiping Secret; they refuse files readable by "other" users.
// Thread-safety: plain value types; LoadConfig is reentrant.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace realdid::authority {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct ServerConfig {
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 8443;
  std::string tls_cert_file;  // PEM server certificate (chain), required
  std::string tls_key_file;   // PEM private key, required
  std::string tls_ca_file;    // optional: CA bundle (client verification on mTLS ports)
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  int max_connections = 64;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(20)};
};

struct MetricsConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 9464;
};

struct HsmConfig {
  std::string module_path;    // PKCS#11 module (.so)
  std::string token_label;    // issuance token label
  std::string pin_file;       // file holding the user PIN
  int pool_size = 4;          // sessions per token
  std::string keys_manifest;  // key manifest written by the key ceremony
};

struct DbConfig {
  // Exactly one of dsn / dsn_file. `dsn` must not contain a password; it comes from password_file.
  // `dsn_file` holds a complete libpq connection string (it may contain the password).
  std::string dsn;
  std::string dsn_file;
  std::string password_file;  // optional, only with `dsn`
  int pool_size = 4;
};

// [issuance]: fair blind issuance (docs/protocol.md section 5). Durations in the file: <n>s, <n>m,
// <n>h or <n>d. Issuance is served only when [ctid] base_url is set; then iss is required.
struct IssuanceConfig {
  std::string iss;                        // public base URL, e.g. https://realdid.example
  int k = 32;                             // cut-and-choose width (min_k..1024)
  int min_k = 16;                         // published minimum (>= 2)
  std::int64_t credential_lifetime = std::int64_t{30} * 86400;  // seconds, whole days
  std::int64_t session_ttl = 600;
  std::int64_t nonce_ttl = 300;
  std::int64_t lockout = std::int64_t{30} * 86400;
  int max_active_credentials = 3;  // unexpired credentials per person (0 = no cap)
};

// [privacypass]: RFC 9578 token issuance for RealDID holders (authority/privacypass_routes.h).
// Served when the key manifest lists a "privacypass" key and issuance is configured.
struct PrivacyPassConfig {
  std::int64_t daily_quota = 100;  // tokens per credential per UTC day (1..100000)
  int max_batch = 100;             // token requests in one batched request (1..1000)
};

// [ctid]: the CTID adapter (ctid/http_gateway.h), HTTPS with mutual TLS.
struct CtidConfig {
  std::string base_url;  // empty = issuance disabled
  std::string client_cert_file;
  std::string client_key_file;
  std::string ca_file;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{5000};
  int max_attempts = 3;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  int breaker_failure_threshold = 5;
  std::chrono::milliseconds breaker_open_duration{10000};
};

// [admin]: the operator/auditor listener (mutual TLS; authority/admin_routes.h). Served only when
// port is set. Client certificates must chain to client_ca_file (the internal CA, scripts/pki.sh).
struct AdminConfig {
  std::string listen_address = "127.0.0.1";
  std::optional<std::uint16_t> port;  // unset = no admin listener
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
};

// [limits]: per-source admission on the public listener before any CTID call
// (authority/access_limiter.h). In-process: per node.
struct LimitsConfig {
  bool enabled = true;
  std::int64_t rate_per_minute = 60;
  std::int64_t burst = 20;
  std::int64_t max_sources = 100000;
  std::int64_t ctid_failures = 10;
  std::int64_t ctid_failure_window = 600;  // seconds (<n>s|m|h|d in the file)
  std::int64_t ctid_block = 900;           // seconds
};

// [audit]: signed checkpoints of the audit log (authority/audit_checkpointer.h): one is due after
// checkpoint_rows new rows or checkpoint_interval (<n>s|m|h|d) since the last one, whichever first.
struct AuditConfig {
  std::int64_t checkpoint_rows = 1000;
  std::int64_t checkpoint_interval = 300;  // seconds; keep well below the 900 s alert threshold
};

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
};

// [bench]: BENCHMARK ONLY, off by default. A plain-HTTP listener serving only the Privacy Pass
// token-request route and the issuer directory, WITHOUT attestation or quota
// (authority/bench_listener.h), for scripts/bench.sh to compare against the Go peer over the same
// transport. Refused unless plain_http_address is a loopback address; never set in production.
struct BenchConfig {
  std::string plain_http_address = "127.0.0.1";
  std::optional<std::uint16_t> plain_http_port;  // unset = no bench listener (0 = any free port)
};

struct AuthorityConfig {
  ServerConfig server;
  MetricsConfig metrics;
  HsmConfig hsm;
  DbConfig db;
  LogConfig log;
  IssuanceConfig issuance;
  CtidConfig ctid;
  PrivacyPassConfig privacypass;
  AdminConfig admin;
  LimitsConfig limits;
  AuditConfig audit;
  BenchConfig bench;
};

// Returns the value of an environment variable or nullopt. Injected so tests need not touch
// environ.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();

// Parses INI text (source_name is used in error messages) with environment overrides, then
// validates. check_files: also verify that referenced files exist and are readable (startup does;
// pure parsing tests may not).
AuthorityConfig ParseConfig(std::string_view ini_text, std::string_view source_name,
                            const EnvLookup& env, bool check_files = true);
// Reads the file and calls ParseConfig.
AuthorityConfig LoadConfig(const std::string& path, const EnvLookup& env);

// True for a literal loopback IP address (127.0.0.0/8, ::1, ::ffff:127.x.x.x). Names such as
// "localhost" are not loopback here: a name can resolve elsewhere.
bool IsLoopbackAddress(std::string_view address);

LogLevel ParseLogLevel(std::string_view text);  // debug|info|warn|error, throws kInvalidInput
std::string_view LogLevelName(LogLevel level) noexcept;

// Reads a secret file (trailing CR/LF stripped). Refuses a file that is missing, empty, larger than
// 4 KiB or readable/writable by others. `what` names the config key in error messages.
Secret ReadSecretFile(const std::string& path, std::string_view what);

// The full libpq connection string: dsn_file contents, or dsn plus " password='...'" from
// password_file (quoted per libpq rules).
Secret BuildDatabaseDsn(const DbConfig& db);

}  // namespace realdid::authority

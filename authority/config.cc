#include "authority/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "authority/ini.h"
#include "core/error.h"

namespace realdid::authority {
namespace {

using ini::Bad;
using ini::ParseUnsigned;

// Accepts "<n>ms", "<n>s", "<n>m"; the range is [min, max].
std::chrono::milliseconds ParseDuration(std::string_view section, std::string_view key,
                                        std::string_view v, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max) {
  auto ms = std::chrono::milliseconds(
      ini::ParseWithUnit(section, key, v, {{"ms", 1}, {"s", 1000}, {"m", 60000}}, 1000000000ULL,
                         "expected a duration such as 500ms, 30s or 2m"));
  if (ms < min || ms > max) {
    Bad(section, key,
        "must be between " + std::to_string(min.count()) + "ms and " + std::to_string(max.count()) +
            "ms");
  }
  return ms;
}

// Accepts "<n>s", "<n>m", "<n>h", "<n>d"; returns seconds in [min, max].
std::int64_t ParseSeconds(std::string_view section, std::string_view key, std::string_view v,
                          std::int64_t min, std::int64_t max) {
  std::int64_t secs =
      ini::ParseWithUnit(section, key, v, {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}},
                         100000000ULL, "expected a duration such as 600s, 10m, 12h or 30d");
  if (secs < min || secs > max) {
    Bad(section, key,
        "must be between " + std::to_string(min) + "s and " + std::to_string(max) + "s");
  }
  return secs;
}

int ParsePoolSize(std::string_view section, std::string_view key, std::string_view v) {
  return static_cast<int>(ParseUnsigned(section, key, v, 1, 256));
}

using KeySpec = ini::KeySpec<AuthorityConfig>;

const std::vector<KeySpec>& Keys() {
  using std::chrono::milliseconds;
  static const std::vector<KeySpec> keys = {
      {"server", "listen_address",
       [](AuthorityConfig& c, std::string_view v) { c.server.listen_address = v; }},
      {"server", "port",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.port = static_cast<std::uint16_t>(ParseUnsigned("server", "port", v, 0, 65535));
       }},
      {"server", "tls_cert_file",
       [](AuthorityConfig& c, std::string_view v) { c.server.tls_cert_file = v; }},
      {"server", "tls_key_file",
       [](AuthorityConfig& c, std::string_view v) { c.server.tls_key_file = v; }},
      {"server", "tls_ca_file",
       [](AuthorityConfig& c, std::string_view v) { c.server.tls_ca_file = v; }},
      {"server", "max_body_bytes",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.max_body_bytes =
             static_cast<std::size_t>(ParseUnsigned("server", "max_body_bytes", v, 1, 64ULL << 20));
       }},
      {"server", "max_header_bytes",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.max_header_bytes = static_cast<std::size_t>(
             ParseUnsigned("server", "max_header_bytes", v, 1024, 1ULL << 20));
       }},
      {"server", "max_connections",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.max_connections =
             static_cast<int>(ParseUnsigned("server", "max_connections", v, 1, 10000));
       }},
      {"server", "request_timeout",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.request_timeout =
             ParseDuration("server", "request_timeout", v, milliseconds(100), milliseconds(600000));
       }},
      {"server", "drain_timeout",
       [](AuthorityConfig& c, std::string_view v) {
         c.server.drain_timeout =
             ParseDuration("server", "drain_timeout", v, milliseconds(0), milliseconds(600000));
       }},
      {"metrics", "listen_address",
       [](AuthorityConfig& c, std::string_view v) { c.metrics.listen_address = v; }},
      {"metrics", "port",
       [](AuthorityConfig& c, std::string_view v) {
         c.metrics.port = static_cast<std::uint16_t>(ParseUnsigned("metrics", "port", v, 0, 65535));
       }},
      {"hsm", "module_path", [](AuthorityConfig& c, std::string_view v) { c.hsm.module_path = v; }},
      {"hsm", "token_label", [](AuthorityConfig& c, std::string_view v) { c.hsm.token_label = v; }},
      {"hsm", "pin_file", [](AuthorityConfig& c, std::string_view v) { c.hsm.pin_file = v; }},
      {"hsm", "pool_size",
       [](AuthorityConfig& c, std::string_view v) {
         c.hsm.pool_size = ParsePoolSize("hsm", "pool_size", v);
       }},
      {"hsm", "keys_manifest",
       [](AuthorityConfig& c, std::string_view v) { c.hsm.keys_manifest = v; }},
      {"db", "dsn", [](AuthorityConfig& c, std::string_view v) { c.db.dsn = v; }},
      {"db", "dsn_file", [](AuthorityConfig& c, std::string_view v) { c.db.dsn_file = v; }},
      {"db", "password_file",
       [](AuthorityConfig& c, std::string_view v) { c.db.password_file = v; }},
      {"db", "pool_size",
       [](AuthorityConfig& c, std::string_view v) {
         c.db.pool_size = ParsePoolSize("db", "pool_size", v);
       }},
      {"issuance", "iss", [](AuthorityConfig& c, std::string_view v) { c.issuance.iss = v; }},
      {"issuance", "k",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.k = static_cast<int>(ParseUnsigned("issuance", "k", v, 2, 1024));
       }},
      {"issuance", "min_k",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.min_k = static_cast<int>(ParseUnsigned("issuance", "min_k", v, 2, 1024));
       }},
      {"issuance", "credential_lifetime",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.credential_lifetime =
             ParseSeconds("issuance", "credential_lifetime", v, 86400, 3650LL * 86400);
         if (c.issuance.credential_lifetime % 86400 != 0) {
           Bad("issuance", "credential_lifetime", "must be a whole number of days");
         }
       }},
      {"issuance", "session_ttl",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.session_ttl = ParseSeconds("issuance", "session_ttl", v, 10, 86400);
       }},
      {"issuance", "nonce_ttl",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.nonce_ttl = ParseSeconds("issuance", "nonce_ttl", v, 10, 86400);
       }},
      {"issuance", "lockout",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.lockout = ParseSeconds("issuance", "lockout", v, 60, 3650LL * 86400);
       }},
      {"issuance", "max_active_credentials",
       [](AuthorityConfig& c, std::string_view v) {
         c.issuance.max_active_credentials =
             static_cast<int>(ParseUnsigned("issuance", "max_active_credentials", v, 0, 1000));
       }},
      {"privacypass", "daily_quota",
       [](AuthorityConfig& c, std::string_view v) {
         c.privacypass.daily_quota =
             static_cast<std::int64_t>(ParseUnsigned("privacypass", "daily_quota", v, 1, 100000));
       }},
      {"privacypass", "max_batch",
       [](AuthorityConfig& c, std::string_view v) {
         c.privacypass.max_batch =
             static_cast<int>(ParseUnsigned("privacypass", "max_batch", v, 1, 1000));
       }},
      {"ctid", "base_url", [](AuthorityConfig& c, std::string_view v) { c.ctid.base_url = v; }},
      {"ctid", "client_cert_file",
       [](AuthorityConfig& c, std::string_view v) { c.ctid.client_cert_file = v; }},
      {"ctid", "client_key_file",
       [](AuthorityConfig& c, std::string_view v) { c.ctid.client_key_file = v; }},
      {"ctid", "ca_file", [](AuthorityConfig& c, std::string_view v) { c.ctid.ca_file = v; }},
      {"ctid", "connect_timeout",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.connect_timeout =
             ParseDuration("ctid", "connect_timeout", v, milliseconds(10), milliseconds(60000));
       }},
      {"ctid", "read_timeout",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.read_timeout =
             ParseDuration("ctid", "read_timeout", v, milliseconds(10), milliseconds(120000));
       }},
      {"ctid", "max_attempts",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.max_attempts = static_cast<int>(ParseUnsigned("ctid", "max_attempts", v, 1, 10));
       }},
      {"ctid", "initial_backoff",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.initial_backoff =
             ParseDuration("ctid", "initial_backoff", v, milliseconds(0), milliseconds(60000));
       }},
      {"ctid", "max_backoff",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.max_backoff =
             ParseDuration("ctid", "max_backoff", v, milliseconds(0), milliseconds(60000));
       }},
      {"ctid", "breaker_failure_threshold",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.breaker_failure_threshold =
             static_cast<int>(ParseUnsigned("ctid", "breaker_failure_threshold", v, 1, 1000));
       }},
      {"ctid", "breaker_open_duration",
       [](AuthorityConfig& c, std::string_view v) {
         c.ctid.breaker_open_duration = ParseDuration("ctid", "breaker_open_duration", v,
                                                      milliseconds(100), milliseconds(600000));
       }},
      {"admin", "listen_address",
       [](AuthorityConfig& c, std::string_view v) { c.admin.listen_address = v; }},
      {"admin", "port",
       [](AuthorityConfig& c, std::string_view v) {
         if (v.empty()) {
           c.admin.port.reset();
         } else {
           c.admin.port = static_cast<std::uint16_t>(ParseUnsigned("admin", "port", v, 0, 65535));
         }
       }},
      {"admin", "tls_cert_file",
       [](AuthorityConfig& c, std::string_view v) { c.admin.tls_cert_file = v; }},
      {"admin", "tls_key_file",
       [](AuthorityConfig& c, std::string_view v) { c.admin.tls_key_file = v; }},
      {"admin", "client_ca_file",
       [](AuthorityConfig& c, std::string_view v) { c.admin.client_ca_file = v; }},
      {"limits", "enabled",
       [](AuthorityConfig& c, std::string_view v) {
         if (v != "true" && v != "false") Bad("limits", "enabled", "expected true or false");
         c.limits.enabled = v == "true";
       }},
      {"limits", "rate_per_minute",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.rate_per_minute =
             static_cast<std::int64_t>(ParseUnsigned("limits", "rate_per_minute", v, 1, 1000000));
       }},
      {"limits", "burst",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.burst = static_cast<std::int64_t>(ParseUnsigned("limits", "burst", v, 1, 100000));
       }},
      {"limits", "max_sources",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.max_sources =
             static_cast<std::int64_t>(ParseUnsigned("limits", "max_sources", v, 1, 10000000));
       }},
      {"limits", "ctid_failures",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.ctid_failures =
             static_cast<std::int64_t>(ParseUnsigned("limits", "ctid_failures", v, 1, 100000));
       }},
      {"limits", "ctid_failure_window",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.ctid_failure_window = ParseSeconds("limits", "ctid_failure_window", v, 1, 86400);
       }},
      {"limits", "ctid_block",
       [](AuthorityConfig& c, std::string_view v) {
         c.limits.ctid_block = ParseSeconds("limits", "ctid_block", v, 1, 7LL * 86400);
       }},
      {"audit", "checkpoint_rows",
       [](AuthorityConfig& c, std::string_view v) {
         c.audit.checkpoint_rows =
             static_cast<std::int64_t>(ParseUnsigned("audit", "checkpoint_rows", v, 1, 1000000));
       }},
      {"audit", "checkpoint_interval",
       [](AuthorityConfig& c, std::string_view v) {
         c.audit.checkpoint_interval = ParseSeconds("audit", "checkpoint_interval", v, 1, 86400);
       }},
      {"bench", "plain_http_address",
       [](AuthorityConfig& c, std::string_view v) { c.bench.plain_http_address = v; }},
      {"bench", "plain_http_port",
       [](AuthorityConfig& c, std::string_view v) {
         if (v.empty()) {
           c.bench.plain_http_port.reset();
         } else {
           c.bench.plain_http_port =
               static_cast<std::uint16_t>(ParseUnsigned("bench", "plain_http_port", v, 0, 65535));
         }
       }},
      {"log", "level",
       [](AuthorityConfig& c, std::string_view v) {
         try {
           c.log.level = ParseLogLevel(v);
         } catch (const Error&) {
           Bad("log", "level", "expected one of debug, info, warn, error");
         }
       }},
  };
  return keys;
}

void CheckReadableFile(std::string_view section, std::string_view key, const std::string& path) {
  if (path.empty()) Bad(section, key, "required");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    Bad(section, key, "cannot access '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) Bad(section, key, "'" + path + "' is not a regular file");
  if (::access(path.c_str(), R_OK) != 0) Bad(section, key, "'" + path + "' is not readable");
}

void Validate(const AuthorityConfig& c, bool check_files) {
  if (c.server.listen_address.empty()) Bad("server", "listen_address", "required");
  if (c.metrics.listen_address.empty()) Bad("metrics", "listen_address", "required");
  if (c.server.tls_cert_file.empty()) Bad("server", "tls_cert_file", "required");
  if (c.server.tls_key_file.empty()) Bad("server", "tls_key_file", "required");
  if (c.hsm.module_path.empty()) Bad("hsm", "module_path", "required");
  if (c.hsm.token_label.empty()) Bad("hsm", "token_label", "required");
  if (c.hsm.pin_file.empty()) Bad("hsm", "pin_file", "required");
  if (c.hsm.keys_manifest.empty()) Bad("hsm", "keys_manifest", "required");
  if (c.db.dsn.empty() == c.db.dsn_file.empty())
    Bad("db", "dsn", "set exactly one of dsn, dsn_file");
  if (!c.db.dsn.empty()) {
    std::string lower = c.db.dsn;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    // Never name the value: it may hold a password by mistake.
    if (lower.find("password") != std::string::npos || lower.find("://") != std::string::npos) {
      Bad("db", "dsn",
          "must be a key=value connection string without a password (use password_file or "
          "dsn_file)");
    }
  }
  if (!c.db.dsn_file.empty() && !c.db.password_file.empty()) {
    Bad("db", "password_file", "only allowed together with dsn (dsn_file holds the full DSN)");
  }
  if (c.server.port != 0 && c.server.port == c.metrics.port &&
      c.server.listen_address == c.metrics.listen_address) {
    Bad("metrics", "port", "must differ from [server] port");
  }
  if (c.issuance.k < c.issuance.min_k) Bad("issuance", "k", "must be at least min_k");
  if (!c.ctid.base_url.empty()) {
    if (c.ctid.base_url.rfind("https://", 0) != 0) Bad("ctid", "base_url", "must be an https:// URL");
    if (c.ctid.client_cert_file.empty()) Bad("ctid", "client_cert_file", "required");
    if (c.ctid.client_key_file.empty()) Bad("ctid", "client_key_file", "required");
    if (c.ctid.ca_file.empty()) Bad("ctid", "ca_file", "required");
    if (c.issuance.iss.empty()) Bad("issuance", "iss", "required when [ctid] base_url is set");
  }
  if (!c.issuance.iss.empty() &&
      (c.issuance.iss.rfind("https://", 0) != 0 || c.issuance.iss.back() == '/')) {
    Bad("issuance", "iss", "must be an https:// base URL without a trailing '/'");
  }
  if (c.admin.port) {
    if (c.admin.listen_address.empty()) Bad("admin", "listen_address", "required");
    if (c.admin.tls_cert_file.empty()) Bad("admin", "tls_cert_file", "required");
    if (c.admin.tls_key_file.empty()) Bad("admin", "tls_key_file", "required");
    if (c.admin.client_ca_file.empty()) Bad("admin", "client_ca_file", "required");
    if (*c.admin.port != 0 && c.admin.listen_address == c.server.listen_address &&
        *c.admin.port == c.server.port) {
      Bad("admin", "port", "must differ from [server] port");
    }
  }
  if (c.bench.plain_http_port) {
    // Benchmark only: a plain-HTTP token endpoint without attestation must never be reachable
    // from another host.
    if (!IsLoopbackAddress(c.bench.plain_http_address)) {
      Bad("bench", "plain_http_address", "the benchmark listener is refused on a non-loopback "
          "address (127.0.0.0/8 or ::1 only)");
    }
    if (c.ctid.base_url.empty()) {
      Bad("bench", "plain_http_port", "needs the Privacy Pass issuer ([ctid] base_url set)");
    }
  }
  if (check_files) {
    if (c.admin.port) {
      CheckReadableFile("admin", "tls_cert_file", c.admin.tls_cert_file);
      CheckReadableFile("admin", "tls_key_file", c.admin.tls_key_file);
      CheckReadableFile("admin", "client_ca_file", c.admin.client_ca_file);
    }
    if (!c.ctid.base_url.empty()) {
      CheckReadableFile("ctid", "client_cert_file", c.ctid.client_cert_file);
      CheckReadableFile("ctid", "client_key_file", c.ctid.client_key_file);
      CheckReadableFile("ctid", "ca_file", c.ctid.ca_file);
    }
    CheckReadableFile("server", "tls_cert_file", c.server.tls_cert_file);
    CheckReadableFile("server", "tls_key_file", c.server.tls_key_file);
    if (!c.server.tls_ca_file.empty()) {
      CheckReadableFile("server", "tls_ca_file", c.server.tls_ca_file);
    }
    CheckReadableFile("hsm", "module_path", c.hsm.module_path);
    CheckReadableFile("hsm", "pin_file", c.hsm.pin_file);
    CheckReadableFile("hsm", "keys_manifest", c.hsm.keys_manifest);
    if (!c.db.dsn_file.empty()) CheckReadableFile("db", "dsn_file", c.db.dsn_file);
    if (!c.db.password_file.empty()) CheckReadableFile("db", "password_file", c.db.password_file);
  }
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  const std::string a(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, a.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): startup only
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

LogLevel ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  InvalidInput("unknown log level");
}

std::string_view LogLevelName(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

AuthorityConfig ParseConfig(std::string_view ini_text, std::string_view source_name,
                            const EnvLookup& env, bool check_files) {
  AuthorityConfig config;
  ini::ApplyIni(ini_text, source_name, Keys(), env, config);
  Validate(config, check_files);
  return config;
}

AuthorityConfig LoadConfig(const std::string& path, const EnvLookup& env) {
  return ParseConfig(ini::ReadConfigFile(path), path, env, true);
}

Secret ReadSecretFile(const std::string& path, std::string_view what) {
  if (path.empty()) InvalidInput(std::string(what) + ": no secret file configured");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    InvalidInput(std::string(what) + ": cannot access '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) InvalidInput(std::string(what) + ": '" + path + "' is not a file");
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    InvalidInput(std::string(what) + ": '" + path + "' is accessible by other users (chmod o-rw)");
  }
  constexpr std::size_t kMax = 4096;
  if (st.st_size <= 0 || static_cast<std::uint64_t>(st.st_size) > kMax) {
    InvalidInput(std::string(what) + ": '" + path + "' must hold 1 to 4096 bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput(std::string(what) + ": cannot open '" + path + "'");
  Bytes buf(kMax + 1);
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  auto n = static_cast<std::size_t>(in.gcount());
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) --n;
  Secret out(ByteView(buf.data(), n));
  Secret wipe_buf(std::move(buf));  // wipes the read buffer on scope exit
  if (out.empty()) InvalidInput(std::string(what) + ": '" + path + "' is empty");
  return out;
}

Secret BuildDatabaseDsn(const DbConfig& db) {
  if (!db.dsn_file.empty()) return ReadSecretFile(db.dsn_file, "[db] dsn_file");
  if (db.password_file.empty()) return Secret::FromString(db.dsn);
  Secret password = ReadSecretFile(db.password_file, "[db] password_file");
  // libpq quoting: single quotes around the value, backslash-escape ' and \.
  Bytes dsn;
  // Reserve up front so no reallocation leaves an unwiped copy of the password behind.
  dsn.reserve(db.dsn.size() + 12 + 2 * password.size() + 1);
  dsn.insert(dsn.end(), db.dsn.begin(), db.dsn.end());
  for (char c : std::string_view(" password='")) dsn.push_back(static_cast<std::uint8_t>(c));
  for (std::uint8_t b : password.reveal()) {
    if (b == '\'' || b == '\\') dsn.push_back('\\');
    dsn.push_back(b);
  }
  dsn.push_back('\'');
  return Secret(std::move(dsn));
}

}  // namespace realdid::authority

#include "warrant/config.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "authority/ini.h"
#include "core/error.h"

namespace realdid::warrant {
namespace {

using authority::ini::Bad;
using authority::ini::ParseUnsigned;

// <n>ms | <n>s | <n>m | <n>h | <n>d -> milliseconds in [min_ms, max_ms].
std::int64_t DurationMs(std::string_view section, std::string_view key, std::string_view v,
                        std::int64_t min_ms, std::int64_t max_ms) {
  std::int64_t ms = authority::ini::ParseWithUnit(
      section, key, v,
      {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}}, 100000000ULL,
      "expected a duration such as 500ms, 30s, 2m, 12h or 30d");
  if (ms < min_ms || ms > max_ms) {
    Bad(section, key, "out of range (" + std::to_string(min_ms) + "ms.." + std::to_string(max_ms) +
                          "ms)");
  }
  return ms;
}

using KeySpec = authority::ini::KeySpec<WarrantConfig>;

const std::vector<KeySpec>& Keys() {
  static const std::vector<KeySpec> keys = {
      {"server", "listen_address", [](WarrantConfig& c, std::string_view v) { c.server.listen_address = v; }},
      {"server", "port",
       [](WarrantConfig& c, std::string_view v) {
         c.server.port = static_cast<std::uint16_t>(ParseUnsigned("server", "port", v, 0, 65535));
       }},
      {"server", "tls_cert_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_cert_file = v; }},
      {"server", "tls_key_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_key_file = v; }},
      {"server", "tls_ca_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_ca_file = v; }},
      {"server", "max_body_bytes",
       [](WarrantConfig& c, std::string_view v) {
         c.server.max_body_bytes =
             static_cast<std::size_t>(ParseUnsigned("server", "max_body_bytes", v, 1024, 1 << 20));
       }},
      {"server", "max_connections",
       [](WarrantConfig& c, std::string_view v) {
         c.server.max_connections = static_cast<int>(ParseUnsigned("server", "max_connections", v, 1, 1024));
       }},
      {"server", "request_timeout",
       [](WarrantConfig& c, std::string_view v) {
         c.server.request_timeout =
             std::chrono::milliseconds(DurationMs("server", "request_timeout", v, 100, 600000));
       }},
      {"server", "drain_timeout",
       [](WarrantConfig& c, std::string_view v) {
         c.server.drain_timeout =
             std::chrono::milliseconds(DurationMs("server", "drain_timeout", v, 0, 600000));
       }},
      {"db", "dsn", [](WarrantConfig& c, std::string_view v) { c.db.dsn = v; }},
      {"db", "dsn_file", [](WarrantConfig& c, std::string_view v) { c.db.dsn_file = v; }},
      {"db", "password_file", [](WarrantConfig& c, std::string_view v) { c.db.password_file = v; }},
      {"db", "pool_size",
       [](WarrantConfig& c, std::string_view v) {
         c.db.pool_size = static_cast<int>(ParseUnsigned("db", "pool_size", v, 1, 256));
       }},
      {"hsm", "module_path", [](WarrantConfig& c, std::string_view v) { c.hsm.module_path = v; }},
      {"hsm", "token_label", [](WarrantConfig& c, std::string_view v) { c.hsm.token_label = v; }},
      {"hsm", "pin_file", [](WarrantConfig& c, std::string_view v) { c.hsm.pin_file = v; }},
      {"hsm", "pool_size",
       [](WarrantConfig& c, std::string_view v) {
         c.hsm.pool_size = static_cast<int>(ParseUnsigned("hsm", "pool_size", v, 1, 256));
       }},
      {"hsm", "keys_manifest", [](WarrantConfig& c, std::string_view v) { c.hsm.keys_manifest = v; }},
      {"identity", "token_label", [](WarrantConfig& c, std::string_view v) { c.identity.token_label = v; }},
      {"identity", "pin_file", [](WarrantConfig& c, std::string_view v) { c.identity.pin_file = v; }},
      {"warrant", "approvals",
       [](WarrantConfig& c, std::string_view v) {
         c.warrant.approvals = static_cast<int>(ParseUnsigned("warrant", "approvals", v, 1, 16));
       }},
      {"warrant", "max_lifetime",
       [](WarrantConfig& c, std::string_view v) {
         c.warrant.max_lifetime =
             DurationMs("warrant", "max_lifetime", v, 60000, std::int64_t{366} * 86400000) / 1000;
       }},
      {"log", "level", [](WarrantConfig& c, std::string_view v) { c.log.level = authority::ParseLogLevel(v); }},
  };
  return keys;
}

void CheckFile(std::string_view section, std::string_view key, const std::string& path) {
  if (path.empty()) Bad(section, key, "required");
  if (::access(path.c_str(), R_OK) != 0) Bad(section, key, "cannot read '" + path + "'");
}

void Validate(const WarrantConfig& c, bool check_files) {
  if (c.server.tls_cert_file.empty()) Bad("server", "tls_cert_file", "required");
  if (c.server.tls_key_file.empty()) Bad("server", "tls_key_file", "required");
  if (c.server.tls_ca_file.empty()) {
    Bad("server", "tls_ca_file", "required (the warrant listener is mutual TLS only)");
  }
  if (c.db.dsn.empty() == c.db.dsn_file.empty()) Bad("db", "dsn", "set exactly one of dsn, dsn_file");
  if (!c.db.dsn_file.empty() && !c.db.password_file.empty()) {
    Bad("db", "password_file", "only with dsn");
  }
  if (c.db.dsn.find("password") != std::string::npos) {
    Bad("db", "dsn", "must not contain a password (use password_file)");
  }
  if (c.hsm.module_path.empty()) Bad("hsm", "module_path", "required");
  if (c.hsm.token_label.empty()) Bad("hsm", "token_label", "required (the escrow token)");
  if (c.hsm.pin_file.empty()) Bad("hsm", "pin_file", "required");
  if (c.hsm.keys_manifest.empty()) Bad("hsm", "keys_manifest", "required");
  if (c.identity.token_label.empty()) Bad("identity", "token_label", "required");
  if (c.identity.pin_file.empty()) Bad("identity", "pin_file", "required");
  if (c.identity.token_label == c.hsm.token_label) {
    Bad("identity", "token_label", "must differ from the escrow token");
  }
  if (check_files) {
    CheckFile("server", "tls_cert_file", c.server.tls_cert_file);
    CheckFile("server", "tls_key_file", c.server.tls_key_file);
    CheckFile("server", "tls_ca_file", c.server.tls_ca_file);
    CheckFile("hsm", "module_path", c.hsm.module_path);
    CheckFile("hsm", "keys_manifest", c.hsm.keys_manifest);
  }
}

}  // namespace

WarrantConfig ParseWarrantConfig(std::string_view ini_text, std::string_view source_name,
                                 const authority::EnvLookup& env, bool check_files) {
  WarrantConfig config;
  config.server.port = 9443;
  config.server.listen_address = "127.0.0.1";
  config.server.max_body_bytes = std::size_t{64} * 1024;
  authority::ini::ApplyIni(ini_text, source_name, Keys(), env, config);
  Validate(config, check_files);
  return config;
}

WarrantConfig LoadWarrantConfig(const std::string& path, const authority::EnvLookup& env) {
  return ParseWarrantConfig(authority::ini::ReadConfigFile(path), path, env, true);
}

}  // namespace realdid::warrant

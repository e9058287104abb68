#include "warrant/config.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace realdid::warrant {
namespace {

std::string Trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void Bad(std::string_view section, std::string_view key, const std::string& why) {
  InvalidInput("config: [" + std::string(section) + "] " + std::string(key) + ": " + why);
}

std::uint64_t Unsigned(std::string_view section, std::string_view key, std::string_view v,
                       std::uint64_t min, std::uint64_t max) {
  std::uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
    Bad(section, key, "expected a non-negative integer");
  }
  if (out < min || out > max) {
    Bad(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return out;
}

// <n>ms | <n>s | <n>m | <n>h | <n>d -> milliseconds in [min_ms, max_ms].
std::int64_t DurationMs(std::string_view section, std::string_view key, std::string_view v,
                        std::int64_t min_ms, std::int64_t max_ms) {
  std::size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  std::string_view unit = v.substr(digits);
  std::int64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60000;
  } else if (unit == "h") {
    scale = 3600000;
  } else if (unit == "d") {
    scale = 86400000;
  } else {
    Bad(section, key, "expected a duration such as 500ms, 30s, 2m, 12h or 30d");
  }
  auto n = static_cast<std::int64_t>(Unsigned(section, key, v.substr(0, digits), 0, 100000000ULL));
  std::int64_t ms = n * scale;
  if (ms < min_ms || ms > max_ms) {
    Bad(section, key, "out of range (" + std::to_string(min_ms) + "ms.." + std::to_string(max_ms) +
                          "ms)");
  }
  return ms;
}

using Setter = std::function<void(WarrantConfig&, std::string_view)>;
struct KeySpec {
  const char* section;
  const char* key;
  Setter set;
};

const std::vector<KeySpec>& Keys() {
  static const std::vector<KeySpec> keys = {
      {"server", "listen_address", [](WarrantConfig& c, std::string_view v) { c.server.listen_address = v; }},
      {"server", "port",
       [](WarrantConfig& c, std::string_view v) {
         c.server.port = static_cast<std::uint16_t>(Unsigned("server", "port", v, 0, 65535));
       }},
      {"server", "tls_cert_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_cert_file = v; }},
      {"server", "tls_key_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_key_file = v; }},
      {"server", "tls_ca_file", [](WarrantConfig& c, std::string_view v) { c.server.tls_ca_file = v; }},
      {"server", "max_body_bytes",
       [](WarrantConfig& c, std::string_view v) {
         c.server.max_body_bytes =
             static_cast<std::size_t>(Unsigned("server", "max_body_bytes", v, 1024, 1 << 20));
       }},
      {"server", "max_connections",
       [](WarrantConfig& c, std::string_view v) {
         c.server.max_connections = static_cast<int>(Unsigned("server", "max_connections", v, 1, 1024));
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
         c.db.pool_size = static_cast<int>(Unsigned("db", "pool_size", v, 1, 256));
       }},
      {"hsm", "module_path", [](WarrantConfig& c, std::string_view v) { c.hsm.module_path = v; }},
      {"hsm", "token_label", [](WarrantConfig& c, std::string_view v) { c.hsm.token_label = v; }},
      {"hsm", "pin_file", [](WarrantConfig& c, std::string_view v) { c.hsm.pin_file = v; }},
      {"hsm", "pool_size",
       [](WarrantConfig& c, std::string_view v) {
         c.hsm.pool_size = static_cast<int>(Unsigned("hsm", "pool_size", v, 1, 256));
       }},
      {"hsm", "keys_manifest", [](WarrantConfig& c, std::string_view v) { c.hsm.keys_manifest = v; }},
      {"identity", "token_label", [](WarrantConfig& c, std::string_view v) { c.identity.token_label = v; }},
      {"identity", "pin_file", [](WarrantConfig& c, std::string_view v) { c.identity.pin_file = v; }},
      {"warrant", "approvals",
       [](WarrantConfig& c, std::string_view v) {
         c.warrant.approvals = static_cast<int>(Unsigned("warrant", "approvals", v, 1, 16));
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

const KeySpec* FindKey(std::string_view section, std::string_view key) {
  for (const KeySpec& k : Keys()) {
    if (section == k.section && key == k.key) return &k;
  }
  return nullptr;
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
  config.server.max_body_bytes = 64 * 1024;
  std::map<std::string, std::string> seen;
  std::string section;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  auto where = [&] { return std::string(source_name) + ":" + std::to_string(line_no) + ": "; };
  while (pos <= ini_text.size()) {
    std::size_t nl = ini_text.find('\n', pos);
    std::string_view raw =
        ini_text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? ini_text.size() + 1 : nl + 1;
    ++line_no;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') InvalidInput("config: " + where() + "malformed section header");
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      bool known = false;
      for (const KeySpec& k : Keys()) known = known || section == k.section;
      if (!known) InvalidInput("config: " + where() + "unknown section [" + section + "]");
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) InvalidInput("config: " + where() + "expected key = value");
    std::string key = Trim(std::string_view(line).substr(0, eq));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    if (section.empty()) InvalidInput("config: " + where() + "key '" + key + "' outside a section");
    if (FindKey(section, key) == nullptr) {
      InvalidInput("config: " + where() + "unknown key '" + key + "' in [" + section + "]");
    }
    if (!seen.emplace(section + "." + key, value).second) {
      InvalidInput("config: " + where() + "duplicate key '" + key + "' in [" + section + "]");
    }
  }
  for (const KeySpec& k : Keys()) {
    std::string var = "REALDID_" + Upper(k.section) + "_" + Upper(k.key);
    if (auto v = env(var)) seen[std::string(k.section) + "." + k.key] = Trim(*v);
  }
  for (const KeySpec& k : Keys()) {
    auto it = seen.find(std::string(k.section) + "." + k.key);
    if (it == seen.end()) continue;
    for (char ch : it->second) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) Bad(k.section, k.key, "control character");
    }
    k.set(config, it->second);
  }
  Validate(config, check_files);
  return config;
}

WarrantConfig LoadWarrantConfig(const std::string& path, const authority::EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("config: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseWarrantConfig(ss.str(), path, env, true);
}

}  // namespace realdid::warrant

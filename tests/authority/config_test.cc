// Unit tests: INI parsing, environment overrides, validation errors, secret files.
#include "authority/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"

namespace realdid::authority {
namespace {

const char* kValid = R"(; comment
# another comment
[server]
listen_address = 127.0.0.1
port = 8443
tls_cert_file = /x/cert.pem
tls_key_file = /x/key.pem
max_body_bytes = 2048
max_header_bytes = 8192
max_connections = 16
request_timeout = 1500ms
drain_timeout = 2m

[metrics]
port = 9999

[hsm]
module_path = /usr/lib/softhsm/libsofthsm2.so
token_label = issuance
pin_file = /x/pin
pool_size = 3
keys_manifest = /x/keys.json

[db]
dsn = host=127.0.0.1 dbname=realdid user=authority
password_file = /x/dbpw
pool_size = 5

[log]
level = debug
)";

EnvLookup NoEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}
EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string ReplaceLine(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

// Expects ParseConfig to throw kInvalidInput whose text contains `needle`.
void ExpectConfigError(const std::string& ini, const std::string& needle,
                       const EnvLookup& env = NoEnv()) {
  try {
    ParseConfig(ini, "test.ini", env, false);
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "error '" << e.what() << "' does not mention '" << needle << "'";
  }
}

TEST(AuthorityConfigTest, ParsesEveryKeyIntoTypedValues) {
  AuthorityConfig c = ParseConfig(kValid, "test.ini", NoEnv(), false);
  EXPECT_EQ(c.server.listen_address, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8443);
  EXPECT_EQ(c.server.tls_cert_file, "/x/cert.pem");
  EXPECT_EQ(c.server.tls_key_file, "/x/key.pem");
  EXPECT_EQ(c.server.tls_ca_file, "");
  EXPECT_EQ(c.server.max_body_bytes, 2048u);
  EXPECT_EQ(c.server.max_header_bytes, 8192u);
  EXPECT_EQ(c.server.max_connections, 16);
  EXPECT_EQ(c.server.request_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.server.drain_timeout, std::chrono::milliseconds(120000));
  EXPECT_EQ(c.metrics.listen_address, "127.0.0.1");  // default
  EXPECT_EQ(c.metrics.port, 9999);
  EXPECT_EQ(c.hsm.module_path, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(c.hsm.token_label, "issuance");
  EXPECT_EQ(c.hsm.pin_file, "/x/pin");
  EXPECT_EQ(c.hsm.pool_size, 3);
  EXPECT_EQ(c.hsm.keys_manifest, "/x/keys.json");
  EXPECT_EQ(c.db.dsn, "host=127.0.0.1 dbname=realdid user=authority");
  EXPECT_EQ(c.db.password_file, "/x/dbpw");
  EXPECT_EQ(c.db.pool_size, 5);
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
}

TEST(AuthorityConfigTest, EnvironmentOverridesTakePrecedence) {
  AuthorityConfig c =
      ParseConfig(kValid, "test.ini",
                  Env({{"REALDID_SERVER_PORT", "9443"},
                       {"REALDID_METRICS_LISTEN_ADDRESS", "10.0.0.5"},
                       {"REALDID_LOG_LEVEL", "warn"},
                       {"REALDID_SERVER_TLS_CA_FILE", "/x/ca.pem"},  // not in the file at all
                       {"REALDID_server_port", "1"}}),               // wrong case: ignored
                  false);
  EXPECT_EQ(c.server.port, 9443);
  EXPECT_EQ(c.metrics.listen_address, "10.0.0.5");
  EXPECT_EQ(c.log.level, LogLevel::kWarn);
  EXPECT_EQ(c.server.tls_ca_file, "/x/ca.pem");
}

TEST(AuthorityConfigTest, BadEnvironmentValueNamesTheKey) {
  ExpectConfigError(kValid, "[server] port", Env({{"REALDID_SERVER_PORT", "eighty"}}));
}

TEST(AuthorityConfigTest, RejectsMalformedFiles) {
  ExpectConfigError(std::string(kValid) + "[bogus]\n", "unknown section [bogus]");
  ExpectConfigError(ReplaceLine(kValid, "pool_size = 3", "pool_sise = 3"),
                    "unknown key 'pool_sise' in [hsm]");
  ExpectConfigError(std::string("port = 1\n") + kValid, "outside a section");
  ExpectConfigError(ReplaceLine(kValid, "port = 8443", "port = 8443\nport = 8444"),
                    "test.ini:6: duplicate key 'port' in [server]");
  ExpectConfigError(ReplaceLine(kValid, "[metrics]", "[metrics"), "malformed section header");
  ExpectConfigError(ReplaceLine(kValid, "port = 9999", "port 9999"), "expected key = value");
}

TEST(AuthorityConfigTest, RejectsBadValuesNamingTheKey) {
  ExpectConfigError(ReplaceLine(kValid, "port = 8443", "port = 70000"),
                    "[server] port: must be between 0 and 65535");
  ExpectConfigError(ReplaceLine(kValid, "port = 8443", "port = -1"), "[server] port");
  ExpectConfigError(ReplaceLine(kValid, "port = 8443", "port = 80x"), "[server] port");
  ExpectConfigError(ReplaceLine(kValid, "max_body_bytes = 2048", "max_body_bytes = 0"),
                    "[server] max_body_bytes");
  ExpectConfigError(ReplaceLine(kValid, "request_timeout = 1500ms", "request_timeout = 10"),
                    "[server] request_timeout: expected a duration");
  ExpectConfigError(ReplaceLine(kValid, "request_timeout = 1500ms", "request_timeout = 1ms"),
                    "[server] request_timeout: must be between");
  ExpectConfigError(ReplaceLine(kValid, "pool_size = 3", "pool_size = 0"), "[hsm] pool_size");
  ExpectConfigError(ReplaceLine(kValid, "pool_size = 5", "pool_size = 1000"), "[db] pool_size");
  ExpectConfigError(ReplaceLine(kValid, "level = debug", "level = loud"), "[log] level");
  ExpectConfigError(ReplaceLine(kValid, "tls_cert_file = /x/cert.pem\n", ""),
                    "[server] tls_cert_file: required");
  ExpectConfigError(ReplaceLine(kValid, "token_label = issuance\n", ""),
                    "[hsm] token_label: required");
  ExpectConfigError(ReplaceLine(kValid, "port = 9999", "port = 8443\nlisten_address = 127.0.0.1"),
                    "[metrics] port: must differ");
}

TEST(AuthorityConfigTest, DatabaseDsnRules) {
  // A password inside the DSN is refused, and the error does not echo the DSN.
  try {
    ParseConfig(ReplaceLine(kValid, "user=authority", "user=authority password=hunter2"),
                "test.ini", NoEnv(), false);
    ADD_FAILURE() << "password in dsn accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[db] dsn"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  ExpectConfigError(ReplaceLine(kValid, "dsn = host=127.0.0.1 dbname=realdid user=authority", ""),
                    "set exactly one of dsn, dsn_file");
  ExpectConfigError(ReplaceLine(kValid, "password_file = /x/dbpw", "dsn_file = /x/dsn"),
                    "set exactly one of dsn, dsn_file");
  ExpectConfigError(
      ReplaceLine(kValid, "dsn = host=127.0.0.1 dbname=realdid user=authority", "dsn_file = /x/d"),
      "[db] password_file: only allowed together with dsn");
  ExpectConfigError(ReplaceLine(kValid, "dbname=realdid", "postgresql://u@h/db"), "[db] dsn");
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/realdid-config-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(AuthorityConfigTest, CheckFilesNamesTheMissingFile) {
  TempDir dir;
  std::string cert = dir.Write("cert.pem", "x", 0644);
  std::string ini = ReplaceLine(kValid, "/x/cert.pem", cert);
  try {
    ParseConfig(ini, "test.ini", NoEnv(), true);
    ADD_FAILURE() << "missing key file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[server] tls_key_file: cannot access '/x/key.pem'"),
              std::string::npos)
        << e.what();
  }
}

TEST(AuthorityConfigTest, ExampleFileParses) {
  const char* src = std::getenv("REALDID_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/authority/authority.example.ini");
  ASSERT_TRUE(in.good());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  AuthorityConfig c = ParseConfig(text, "authority.example.ini", NoEnv(), false);
  EXPECT_EQ(c.server.port, 8443);
  EXPECT_EQ(c.metrics.listen_address, "127.0.0.1");
  EXPECT_EQ(c.hsm.token_label, "realdid-issuance");
  EXPECT_EQ(c.privacypass.daily_quota, 100);
  EXPECT_EQ(c.privacypass.max_batch, 100);
  EXPECT_EQ(c.issuance.max_active_credentials, 3);
}

TEST(AuthorityConfigTest, PrivacyPassKeysAreRangeChecked) {
  const char* src = std::getenv("REALDID_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/authority/authority.example.ini");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const std::size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    return t;
  };
  AuthorityConfig c = ParseConfig(with("daily_quota = 100", "daily_quota = 7"), "x", NoEnv(), false);
  EXPECT_EQ(c.privacypass.daily_quota, 7);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"daily_quota = 100", "daily_quota = 0"},
           {"daily_quota = 100", "daily_quota = 100001"},
           {"max_batch = 100", "max_batch = 0"},
           {"max_batch = 100", "max_batch = 1001"},
           {"max_active_credentials = 3", "max_active_credentials = -1"}}) {
    EXPECT_THROW(ParseConfig(with(from, to), "x", NoEnv(), false), Error) << to;
  }
  c = ParseConfig(with("max_active_credentials = 3", "max_active_credentials = 0"), "x", NoEnv(),
                  false);
  EXPECT_EQ(c.issuance.max_active_credentials, 0);
}

TEST(AuthoritySecretFileTest, ReadsAndStripsTrailingNewline) {
  TempDir dir;
  std::string p = dir.Write("pin", "1234-user\r\n");
  Secret s = ReadSecretFile(p, "[hsm] pin_file");
  EXPECT_EQ(s.reveal_string(), "1234-user");
}

TEST(AuthoritySecretFileTest, RefusesUnsafeOrEmptyFiles) {
  TempDir dir;
  std::string open = dir.Write("open", "s3cret-value\n", 0644);
  try {
    ReadSecretFile(open, "[hsm] pin_file");
    ADD_FAILURE() << "world-readable secret accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[hsm] pin_file"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("other users"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
  }
  EXPECT_THROW(ReadSecretFile(dir.Write("empty", "\n"), "x"), Error);
  EXPECT_THROW(ReadSecretFile(dir.Write("zero", ""), "x"), Error);
  EXPECT_THROW(ReadSecretFile(dir.Write("big", std::string(5000, 'a')), "x"), Error);
  EXPECT_THROW(ReadSecretFile((dir.path() / "missing").string(), "x"), Error);
}

TEST(AuthoritySecretFileTest, DatabaseDsnQuotesThePassword) {
  TempDir dir;
  DbConfig db;
  db.dsn = "host=h dbname=d user=u";
  db.password_file = dir.Write("pw", "it's a\\b\n");
  EXPECT_EQ(BuildDatabaseDsn(db).reveal_string(),
            R"(host=h dbname=d user=u password='it\'s a\\b')");
  db.password_file.clear();
  EXPECT_EQ(BuildDatabaseDsn(db).reveal_string(), "host=h dbname=d user=u");
  DbConfig from_file;
  from_file.dsn_file = dir.Write("dsn", "postgresql://u:pw@h/d\n");
  EXPECT_EQ(BuildDatabaseDsn(from_file).reveal_string(), "postgresql://u:pw@h/d");
}

}  // namespace
}  // namespace realdid::authority

#include "authority/key_manifest.h"

namespace realdid::authority {
namespace {

TEST(AuthorityKeyManifestTest, ParsesCeremonyManifest) {
  auto keys = ParseKeyManifest(
      R"({"version":1,"keys":[)"
      R"({"role":"blind-signing","token":"issuance","label":"realdid-blind-rsa3072","kid":"k1",)"
      R"("cka_id":"0a0b","alg":"PS384","jwk":{"kty":"RSA"}},)"
      R"({"role":"escrow","token":"escrow","label":"realdid-escrow-p256","kid":"k2",)"
      R"("cka_id":"ff","alg":"ECDH-ES"}]})");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].role, "blind-signing");
  EXPECT_EQ(keys[0].token, "issuance");
  EXPECT_EQ(keys[0].label, "realdid-blind-rsa3072");
  EXPECT_EQ(keys[0].cka_id, (Bytes{0x0a, 0x0b}));
  EXPECT_EQ(keys[1].cka_id, (Bytes{0xff}));
}

TEST(AuthorityKeyManifestTest, RejectsMalformedManifests) {
  EXPECT_THROW(ParseKeyManifest(R"({"version":2,"keys":[]})"), Error);
  EXPECT_THROW(ParseKeyManifest(R"({"keys":[]})"), Error);
  EXPECT_THROW(
      ParseKeyManifest(R"({"version":1,"keys":[{"role":"r","token":"t","label":"l","kid":"k",)"
                       R"("cka_id":"zz","alg":"a"}]})"),
      Error);
  EXPECT_THROW(
      ParseKeyManifest(R"({"version":1,"keys":[{"role":"r","token":"t","label":"","kid":"k",)"
                       R"("cka_id":"00","alg":"a"}]})"),
      Error);
  EXPECT_THROW(ParseKeyManifest("not json"), Error);
  EXPECT_EQ(ParseKeyManifest(R"({"version":1,"keys":[]})").size(), 0u);
  try {
    LoadKeyManifest("/nonexistent/keys.json");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[hsm] keys_manifest"), std::string::npos);
  }
}

TEST(AuthorityConfigTest, AuditCheckpointKeysAreParsedAndRangeChecked) {
  const char* src = std::getenv("REALDID_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/authority/authority.example.ini");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const std::size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    return t;
  };
  AuthorityConfig c = ParseConfig(text, "x", NoEnv(), false);
  EXPECT_EQ(c.audit.checkpoint_rows, 1000);
  EXPECT_EQ(c.audit.checkpoint_interval, 300);
  c = ParseConfig(with("checkpoint_interval = 5m", "checkpoint_interval = 90s"), "x", NoEnv(), false);
  EXPECT_EQ(c.audit.checkpoint_interval, 90);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"checkpoint_rows = 1000", "checkpoint_rows = 0"},
           {"checkpoint_rows = 1000", "checkpoint_rows = many"},
           {"checkpoint_interval = 5m", "checkpoint_interval = 0s"},
           {"checkpoint_interval = 5m", "checkpoint_interval = 2d"}}) {
    EXPECT_THROW(ParseConfig(with(from, to), "x", NoEnv(), false), Error) << to;
  }
}

}  // namespace
}  // namespace realdid::authority

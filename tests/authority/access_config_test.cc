// [admin] and [limits] configuration (authority/config.h): defaults, parsing, validation and the
// environment overrides the test stacks use.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "authority/config.h"
#include "core/error.h"

namespace realdid::authority {
namespace {

const std::string kBase = R"([server]
listen_address = 127.0.0.1
port = 8443
tls_cert_file = /x/cert.pem
tls_key_file = /x/key.pem
[hsm]
module_path = /x/p11.so
token_label = issuance
pin_file = /x/pin
keys_manifest = /x/keys.json
[db]
dsn_file = /x/dsn
)";

EnvLookup Env(std::map<std::string, std::string> vars = {}) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

AuthorityConfig Parse(const std::string& extra, std::map<std::string, std::string> env = {}) {
  return ParseConfig(kBase + extra, "test.ini", Env(std::move(env)), false);
}

std::string ErrorOf(const std::string& extra, std::map<std::string, std::string> env = {}) {
  try {
    (void)Parse(extra, std::move(env));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return std::string(e.detail());
  }
  return "";
}

const std::string kAdmin = R"([admin]
port = 8444
tls_cert_file = /x/a.pem
tls_key_file = /x/a.key
client_ca_file = /x/ca.pem
)";

TEST(AccessConfigTest, Defaults) {
  AuthorityConfig c = Parse("");
  EXPECT_FALSE(c.admin.port.has_value());
  EXPECT_EQ(c.admin.listen_address, "127.0.0.1");
  EXPECT_TRUE(c.limits.enabled);
  EXPECT_EQ(c.limits.rate_per_minute, 60);
  EXPECT_EQ(c.limits.burst, 20);
  EXPECT_EQ(c.limits.max_sources, 100000);
  EXPECT_EQ(c.limits.ctid_failures, 10);
  EXPECT_EQ(c.limits.ctid_failure_window, 600);
  EXPECT_EQ(c.limits.ctid_block, 900);
}

TEST(AccessConfigTest, AdminSectionParsesAndRequiresItsFiles) {
  AuthorityConfig c = Parse(kAdmin);
  ASSERT_TRUE(c.admin.port.has_value());
  EXPECT_EQ(*c.admin.port, 8444);
  EXPECT_EQ(c.admin.client_ca_file, "/x/ca.pem");
  EXPECT_NE(ErrorOf("[admin]\nport = 8444\ntls_cert_file = /a\ntls_key_file = /b\n")
                .find("[admin] client_ca_file"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[admin]\nport = 8444\n").find("[admin] tls_cert_file"), std::string::npos);
  EXPECT_NE(ErrorOf("[admin]\nport = 70000\n").find("[admin] port"), std::string::npos);
  // The same address and port as the public listener.
  EXPECT_NE(ErrorOf(kAdmin, {{"REALDID_ADMIN_PORT", "8443"}}).find("must differ"),
            std::string::npos);
  // Files are checked at startup.
  EXPECT_THROW((void)ParseConfig(kBase + kAdmin, "t", Env(), true), Error);
  // An empty override turns the listener off (a second node of the test stack).
  EXPECT_FALSE(Parse(kAdmin, {{"REALDID_ADMIN_PORT", ""}}).admin.port.has_value());
  EXPECT_EQ(*Parse("", {{"REALDID_ADMIN_PORT", "0"}, {"REALDID_ADMIN_TLS_CERT_FILE", "/c"},
                        {"REALDID_ADMIN_TLS_KEY_FILE", "/k"},
                        {"REALDID_ADMIN_CLIENT_CA_FILE", "/ca"}})
                 .admin.port,
            0);
}

TEST(AccessConfigTest, LimitsParseAndRefuseBadValues) {
  AuthorityConfig c = Parse(
      "[limits]\nenabled = false\nrate_per_minute = 5\nburst = 2\nmax_sources = 10\n"
      "ctid_failures = 3\nctid_failure_window = 2m\nctid_block = 1h\n");
  EXPECT_FALSE(c.limits.enabled);
  EXPECT_EQ(c.limits.rate_per_minute, 5);
  EXPECT_EQ(c.limits.burst, 2);
  EXPECT_EQ(c.limits.max_sources, 10);
  EXPECT_EQ(c.limits.ctid_failures, 3);
  EXPECT_EQ(c.limits.ctid_failure_window, 120);
  EXPECT_EQ(c.limits.ctid_block, 3600);
  EXPECT_EQ(Parse("", {{"REALDID_LIMITS_BURST", "4"}}).limits.burst, 4);
  for (const char* bad : {"[limits]\nenabled = yes\n", "[limits]\nburst = 0\n",
                          "[limits]\nrate_per_minute = 0\n", "[limits]\nctid_failures = -1\n",
                          "[limits]\nctid_block = 10\n", "[limits]\nctid_block = 8d\n",
                          "[limits]\nmax_sources = 0\n", "[limits]\nunknown = 1\n"}) {
    EXPECT_FALSE(ErrorOf(bad).empty()) << bad;
  }
}

}  // namespace
}  // namespace realdid::authority

// WarrantConfig — the typed, validated configuration of the realdid-warrant process.
//
// Same format and rules as the authority's (authority/config.h): a strict INI file (known sections
// and keys only, no duplicates) overlaid by REALDID_<SECTION>_<KEY> environment variables. Sections:
//   [server]   the mutual-TLS-only listener: listen_address, port, tls_cert_file, tls_key_file,
//              tls_ca_file (REQUIRED: the internal CA that issues operator/auditor certificates),
//              max_body_bytes, max_connections, request_timeout, drain_timeout
//   [db]       dsn + password_file | dsn_file (role realdid_warrant), pool_size
//   [hsm]      module_path, token_label (the ESCROW token), pin_file (its PIN: this process is the
//              only one that holds it), pool_size, keys_manifest (escrow key + blind-signing keys)
//   [identity] token_label, pin_file: the issuance token's data-wrapping key, used for one
//              operation only (AES-GCM decryption of a person's data key); docs/threat-model.md
//   [warrant]  approvals (M, default 2, 1..16), max_lifetime (longest warrant validity, default 30d)
//   [log]      level
// Security contract: only paths to secrets, never secrets; errors name the key, never a value.
// Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "authority/config.h"

namespace realdid::warrant {

struct IdentityTokenConfig {
  std::string token_label;  // the issuance token (data-wrapping key)
  std::string pin_file;
};

struct WarrantSettings {
  int approvals = 2;                                      // M
  std::int64_t max_lifetime = std::int64_t{30} * 86400;  // seconds
};

struct WarrantConfig {
  authority::ServerConfig server;
  authority::DbConfig db;
  authority::HsmConfig hsm;  // token_label = the escrow token
  IdentityTokenConfig identity;
  WarrantSettings warrant;
  authority::LogConfig log;
};

WarrantConfig ParseWarrantConfig(std::string_view ini_text, std::string_view source_name,
                                 const authority::EnvLookup& env, bool check_files = true);
WarrantConfig LoadWarrantConfig(const std::string& path, const authority::EnvLookup& env);

}  // namespace realdid::warrant

// realdid-admin: principals of the operator/auditor API (table principals, migration 0004).
//
//   realdid-admin principal add     --dsn-file FILE --cert CERT.pem --role ROLE [--ca CA.pem]
//   realdid-admin principal disable --dsn-file FILE (--cert CERT.pem | --sha256 HEX)
//   realdid-admin principal list    --dsn-file FILE
//   realdid-admin retention commit-blobs --dsn-file FILE --older-than-days N [--batch ROWS]
//   realdid-admin partitions ensure --dsn-file FILE [--months-ahead N]
//
// FILE holds the libpq connection string of realdid_owner (mode 0600 or 0640; it may contain the
// password, so it is never taken from the command line). `add` refuses a CA certificate (the CA is
// not an operator role), a certificate not valid for TLS client authentication, and with --ca one
// not issued by that CA. Certificates are created by scripts/pki.sh (docs/operations.md).
// Output: one line per principal, "id role sha256 subject [disabled_at]". Exit status: 0 ok,
// 1 failure, 2 usage, 3 refused (bad certificate, duplicate, nothing to disable).
// `retention commit-blobs` drops the commit blob of signed and expired sessions created more than
// N days ago (N >= 1), in transactions of ROWS rows (default 10000), each with one audit row
// "retention.commit_blobs" (tools/admin/retention.h, migration 0011); it prints
// "pruned TOTAL commit blobs (older than N days, B batches)". Failed sessions keep their blob.
// `partitions ensure` creates this month's and the next N months' (default 3, at most 24) monthly
// partitions of issuance_records and audit_log (realdid_ensure_partitions, migration 0009;
// idempotent) and prints "partitions created: M". Both are meant for a daily timer.
#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "authority/config.h"
#include "core/bytes.h"
#include "core/error.h"
#include "db/db_error.h"
#include "db/pool.h"
#include "db/result.h"
#include "tools/admin/principal_admin.h"
#include "tools/admin/retention.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRefused = 3;

int Usage(std::string_view problem) {
  if (!problem.empty()) std::cerr << "realdid-admin: " << problem << "\n";
  std::cerr << "usage: realdid-admin principal add --dsn-file FILE --cert CERT.pem --role "
               "operator|auditor|administrator [--ca CA.pem]\n"
               "       realdid-admin principal disable --dsn-file FILE (--cert CERT.pem | "
               "--sha256 HEX)\n"
               "       realdid-admin principal list --dsn-file FILE\n"
               "       realdid-admin partitions ensure --dsn-file FILE [--months-ahead N]\n"
               "       realdid-admin retention commit-blobs --dsn-file FILE --older-than-days N "
               "[--batch ROWS]\n";
  return kExitUsage;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Print(const admin::PrincipalRow& p) {
  std::cout << p.id << " " << p.role << " " << ToHex(p.cert_sha256) << " " << p.subject;
  if (p.disabled_at) std::cout << " disabled_at=" << *p.disabled_at;
  std::cout << "\n";
}

// A whole decimal number, nothing else; nullopt otherwise.
std::optional<std::int64_t> ParseCount(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

// "--name value" pairs from argv[3..]; nullopt (after printing the usage) on a malformed or
// repeated option or one not in `allowed`.
std::optional<std::map<std::string, std::string>> MaintenanceOptions(
    int argc, char** argv, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> opts;
  for (int i = 3; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, 2) != "--" || i + 1 >= argc) {
      Usage("bad argument");
      return std::nullopt;
    }
    if (!opts.emplace(std::string(a.substr(2)), argv[++i]).second) {
      Usage("repeated option");
      return std::nullopt;
    }
  }
  for (const auto& [k, v] : opts) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      Usage("unknown option --" + k);
      return std::nullopt;
    }
  }
  if (opts.count("dsn-file") == 0) {
    Usage("--dsn-file is required");
    return std::nullopt;
  }
  return opts;
}

db::Pool OwnerPool(const std::string& dsn_file) {
  db::PoolConfig pc;
  pc.dsn = authority::ReadSecretFile(dsn_file, "--dsn-file");
  pc.size = 1;
  return db::Pool(std::move(pc));
}

int RunRetention(int argc, char** argv) {
  if (argc < 3 || std::string_view(argv[2]) != "commit-blobs") return Usage("unknown command");
  std::optional<std::map<std::string, std::string>> opts =
      MaintenanceOptions(argc, argv, {"dsn-file", "older-than-days", "batch"});
  if (!opts) return kExitUsage;
  if (opts->count("older-than-days") == 0) return Usage("--older-than-days is required");
  const std::optional<std::int64_t> days = ParseCount((*opts)["older-than-days"]);
  if (!days || *days < 1) {
    return Usage("--older-than-days must be a whole number of days, at least 1");
  }
  std::int64_t batch = admin::kDefaultRetentionBatch;
  if (opts->count("batch") != 0) {
    const std::optional<std::int64_t> b = ParseCount((*opts)["batch"]);
    if (!b || *b < 1) return Usage("--batch must be a whole number of rows, at least 1");
    batch = *b;
  }
  db::Pool pool = OwnerPool((*opts)["dsn-file"]);
  const admin::RetentionRun run = admin::PruneCommitBlobs(pool, *days, batch);
  std::cout << "pruned " << run.pruned << " commit blobs (older than " << *days << " days, "
            << run.batches << " batches)\n";
  return kExitOk;
}

int RunPartitions(int argc, char** argv) {
  if (argc < 3 || std::string_view(argv[2]) != "ensure") return Usage("unknown command");
  std::optional<std::map<std::string, std::string>> opts =
      MaintenanceOptions(argc, argv, {"dsn-file", "months-ahead"});
  if (!opts) return kExitUsage;
  std::int64_t months = 3;
  if (opts->count("months-ahead") != 0) {
    const std::optional<std::int64_t> m = ParseCount((*opts)["months-ahead"]);
    if (!m || *m < 0 || *m > 24) return Usage("--months-ahead must be a whole number from 0 to 24");
    months = *m;
  }
  db::Pool pool = OwnerPool((*opts)["dsn-file"]);
  const std::int64_t made = pool.Run("ensure_partitions", [&](db::Tx& tx) {
    return tx.Exec("SELECT realdid_ensure_partitions($1::integer)", {static_cast<long long>(months)})
        .One()
        .GetInt64(0);
  });
  std::cout << "partitions created: " << made << "\n";
  return kExitOk;
}

int Run(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "retention") return RunRetention(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "partitions") return RunPartitions(argc, argv);
  if (argc < 3 || std::string_view(argv[1]) != "principal") return Usage("");
  const std::string_view verb = argv[2];
  std::map<std::string, std::string> opts;
  for (int i = 3; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, 2) != "--" || i + 1 >= argc) return Usage("bad argument");
    if (!opts.emplace(std::string(a.substr(2)), argv[++i]).second) return Usage("repeated option");
  }
  auto opt = [&](const char* k) -> std::string {
    auto it = opts.find(k);
    return it == opts.end() ? std::string() : it->second;
  };
  for (const auto& [k, v] : opts) {
    if (k != "dsn-file" && k != "cert" && k != "role" && k != "ca" && k != "sha256") {
      return Usage("unknown option --" + k);
    }
  }
  if (opt("dsn-file").empty()) return Usage("--dsn-file is required");
  db::PoolConfig pc;
  pc.dsn = authority::ReadSecretFile(opt("dsn-file"), "--dsn-file");
  pc.size = 1;
  db::Pool pool(std::move(pc));

  if (verb == "add") {
    if (opt("cert").empty() || opt("role").empty()) return Usage("add needs --cert and --role");
    admin::CertificateInfo cert = admin::InspectClientCertificate(
        ReadFile(opt("cert")), opt("ca").empty() ? std::string() : ReadFile(opt("ca")));
    std::int64_t id = admin::AddPrincipal(pool, cert, opt("role"));
    std::cout << id << " " << opt("role") << " " << ToHex(cert.sha256) << " " << cert.subject
              << "\n";
    return kExitOk;
  }
  if (verb == "disable") {
    Bytes fp;
    if (!opt("cert").empty()) {
      fp = admin::InspectClientCertificate(ReadFile(opt("cert")), "").sha256;
    } else if (!opt("sha256").empty()) {
      fp = FromHex(opt("sha256"));
      if (fp.size() != 32) InvalidInput("--sha256 must be 64 hex digits");
    } else {
      return Usage("disable needs --cert or --sha256");
    }
    if (!admin::DisablePrincipal(pool, fp)) {
      std::cerr << "realdid-admin: no enabled principal with that certificate\n";
      return kExitRefused;
    }
    std::cout << "disabled " << ToHex(fp) << "\n";
    return kExitOk;
  }
  if (verb == "list") {
    for (const admin::PrincipalRow& p : admin::ListPrincipals(pool)) Print(p);
    return kExitOk;
  }
  return Usage("unknown command");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const realdid::Error& e) {
    std::cerr << "realdid-admin: " << e.what() << "\n";
    return e.kind() == realdid::ErrorKind::kInvalidInput || e.kind() == realdid::ErrorKind::kConflict
               ? kExitRefused
               : kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "realdid-admin: " << e.what() << "\n";
    return kExitFailure;
  }
}

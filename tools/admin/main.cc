// realdid-admin: principals of the operator/auditor API (table principals, migration 0004).
//
//   realdid-admin principal add     --dsn-file FILE --cert CERT.pem --role ROLE [--ca CA.pem]
//   realdid-admin principal disable --dsn-file FILE (--cert CERT.pem | --sha256 HEX)
//   realdid-admin principal list    --dsn-file FILE
//
// FILE holds the libpq connection string of realdid_owner (mode 0600 or 0640; it may contain the
// password, so it is never taken from the command line). `add` refuses a CA certificate (the CA is
// not an operator role), a certificate not valid for TLS client authentication, and with --ca one
// not issued by that CA. Certificates are created by scripts/pki.sh (docs/operations.md).
// Output: one line per principal, "id role sha256 subject [disabled_at]". Exit status: 0 ok,
// 1 failure, 2 usage, 3 refused (bad certificate, duplicate, nothing to disable).
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include "authority/config.h"
#include "core/bytes.h"
#include "core/error.h"
#include "db/db_error.h"
#include "db/pool.h"
#include "tools/admin/principal_admin.h"

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
               "       realdid-admin principal list --dsn-file FILE\n";
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

int Run(int argc, char** argv) {
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

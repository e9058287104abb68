// realdid: the resident's command-line wallet and a relying party's offline verifier.
//
//   realdid wallet issue --authority URL --ca FILE --ctid URL --ctid-ca FILE --resident INDEX
//                        --out wallet.json [--transcript FILE]
//   realdid wallet present --wallet wallet.json --disclose age_over_18,province --aud AUD
//                          --nonce NONCE [--now UNIX]
//   realdid keys fetch --authority URL --ca FILE --out jwks.json
//   realdid verify --jwks jwks.json --aud AUD --nonce NONCE [--presentation FILE|-] [--now UNIX]
//
// Exit codes: 0 success, 1 refused or failed (reason on stderr), 2 usage error.
// Progress goes to stderr; results (presentation, verified claims) to stdout.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "tools/realdid/commands.h"
#include "tools/realdid/flags.h"
#include "wallet/client.h"
#include "wallet/key_set.h"
#include "wallet/wallet_file.h"

namespace {

using realdid::cli::CaOnly;
using realdid::cli::ParseFlags;
using realdid::cli::Require;
using realdid::cli::TrimEnd;

constexpr const char* kUsage =
    "usage:\n"
    "  realdid wallet issue --authority URL --ca FILE --ctid URL --ctid-ca FILE --resident INDEX\n"
    "                       --out WALLET.json [--transcript FILE]\n"
    "  realdid wallet present --wallet WALLET.json --disclose NAME[,NAME...] --aud AUD --nonce NONCE\n"
    "                         [--now UNIX]\n"
    "  realdid keys fetch --authority URL --ca FILE --out JWKS.json\n"
    "  realdid verify --jwks JWKS.json --aud AUD --nonce NONCE [--presentation FILE|-] [--now UNIX]\n"
    "                 [--revocation-cache DIR]\n"
    "  realdid revocation fetch|check ...   (realdid revocation help)\n"
    "  realdid wallet revoke --wallet WALLET.json --authority URL --ca FILE\n"
    "  realdid audit verify|export|witness ...   (realdid audit help)\n"
    "  realdid token challenge|directory|fetch|attest|redeem ...   (realdid token help)\n"
    "claims: age_over_18, age_over_60, province, nationality, real_name_verified\n";

int Usage(const std::string& message) { return realdid::cli::UsageError(kUsage, message); }

std::int64_t ParseInt(const std::string& s, const std::string& what) {
  std::size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != s.size() || s.empty()) realdid::InvalidInput(what + " must be an integer");
  return v;
}

// PATH, or standard input for "-".
std::string ReadAll(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  return realdid::cli::ReadFile(path);
}

int WalletIssue(const std::map<std::string, std::string>& f) {
  using namespace realdid::wallet;
  std::uint64_t index = static_cast<std::uint64_t>(ParseInt(f.at("--resident"), "--resident"));
  auto progress = [](std::string_view line) { std::cerr << "realdid: " << line << "\n"; };
  // --transcript FILE: every exchange with the authority as one JSON line (method, path, status,
  // request, response) — the worked example of docs/protocol.md is taken from such a file.
  realdid::wallet::HttpsOptions authority_options = CaOnly(f.at("--ca"));
  std::shared_ptr<std::ofstream> transcript;
  if (auto t = f.find("--transcript"); t != f.end()) {
    transcript = std::make_shared<std::ofstream>(t->second, std::ios::binary | std::ios::trunc);
    if (!*transcript) realdid::InvalidInput("cannot write " + t->second);
    authority_options.transcript = [transcript](std::string_view method, std::string_view path,
                                                int status, std::string_view request,
                                                std::string_view response) {
      realdid::json::Value line = realdid::json::Object{
          {"method", method}, {"path", path}, {"status", status},
          {"request", request}, {"response", response}};
      *transcript << realdid::json::Serialize(line) << "\n";
    };
  }
  CtidAppClient ctid(f.at("--ctid"), CaOnly(f.at("--ctid-ca")));
  AuthorityClient authority(f.at("--authority"), authority_options);
  progress("fetching resident " + std::to_string(index) + " from the CTID simulator");
  Resident who = ctid.GetResident(index);
  IssuedCredential cred = Issue(authority, ctid, who, IssueOptions{nullptr, progress, nullptr});
  SaveWallet(f.at("--out"), authority.base_url(), cred);
  progress("credential verified and stored in " + f.at("--out") + " (mode 0600)");
  return 0;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int WalletPresent(const std::map<std::string, std::string>& f) {
  using namespace realdid::wallet;
  WalletFile w = LoadWallet(f.at("--wallet"));
  std::int64_t now = f.count("--now") != 0 ? ParseInt(f.at("--now"), "--now") : SystemNow();
  std::cout << Present(w, SplitComma(f.at("--disclose")), f.at("--aud"), f.at("--nonce"), now)
            << "\n";
  return 0;
}

int KeysFetch(const std::map<std::string, std::string>& f) {
  using namespace realdid::wallet;
  AuthorityClient authority(f.at("--authority"), CaOnly(f.at("--ca")));
  std::string text = authority.FetchKeySetText();
  KeySet ks = ParseKeySet(text);  // refuse to cache a malformed set
  realdid::cli::WriteFileAtomically(f.at("--out"), text);
  std::cerr << "realdid: cached " << ks.keys.size() << " signing key(s) in " << f.at("--out")
            << "\n";
  return 0;
}

int Verify(const std::map<std::string, std::string>& f) {
  using namespace realdid::wallet;
  KeySet ks = ParseKeySet(TrimEnd(ReadAll(f.at("--jwks"))));
  std::string pres =
      TrimEnd(ReadAll(f.count("--presentation") != 0 ? f.at("--presentation") : "-"));
  std::int64_t now = f.count("--now") != 0 ? ParseInt(f.at("--now"), "--now") : SystemNow();
  VerifyResult r = VerifyOffline(ks, pres, f.at("--aud"), f.at("--nonce"), now);
  if (f.count("--revocation-cache") != 0) {
    realdid::cli::CheckPresentationNotRevoked(ks.text, pres, f.at("--revocation-cache"), now);
  }
  std::cout << r.ToJson() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command");
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::string sub = argc >= 3 ? argv[2] : "";
  std::map<std::string, std::string> f;
  std::string error;
  try {
    if (cmd == "wallet" && sub == "issue") {
      if (!ParseFlags(argc, argv, 3,
                      {"--authority", "--ca", "--ctid", "--ctid-ca", "--resident", "--out",
                       "--transcript"},
                      f, error) ||
          !Require(f, {"--authority", "--ca", "--ctid", "--ctid-ca", "--resident", "--out"}, error)) {
        return Usage(error);
      }
      return WalletIssue(f);
    }
    if (cmd == "wallet" && sub == "present") {
      if (!ParseFlags(argc, argv, 3, {"--wallet", "--disclose", "--aud", "--nonce", "--now"}, f,
                      error) ||
          !Require(f, {"--wallet", "--disclose", "--aud", "--nonce"}, error)) {
        return Usage(error);
      }
      return WalletPresent(f);
    }
    if (cmd == "keys" && sub == "fetch") {
      if (!ParseFlags(argc, argv, 3, {"--authority", "--ca", "--out"}, f, error) ||
          !Require(f, {"--authority", "--ca", "--out"}, error)) {
        return Usage(error);
      }
      return KeysFetch(f);
    }
    if (cmd == "audit") return realdid::cli::RunAudit(argc, argv);
    if (cmd == "token") return realdid::cli::RunToken(argc, argv);
    if (cmd == "revocation") return realdid::cli::RunRevocation(argc, argv);
    if (cmd == "wallet" && sub == "revoke") return realdid::cli::RunWalletRevoke(argc, argv);
    if (cmd == "verify") {
      if (!ParseFlags(argc, argv, 2,
                      {"--jwks", "--aud", "--nonce", "--presentation", "--now",
                       "--revocation-cache"},
                      f, error) ||
          !Require(f, {"--jwks", "--aud", "--nonce"}, error)) {
        return Usage(error);
      }
      return Verify(f);
    }
    return Usage("unknown command: " + cmd + (sub.empty() ? "" : " " + sub));
  } catch (const realdid::wallet::ServerRefusal& e) {
    const auto& p = e.problem();
    std::cerr << "realdid: refused by the server: " << p.status;
    if (!p.title.empty()) std::cerr << " " << p.title;
    if (!p.detail.empty()) std::cerr << ": " << p.detail;
    if (!p.type.empty()) std::cerr << " [" << p.type << "]";
    if (p.retry_after) std::cerr << " (retry after " << *p.retry_after << " s)";
    std::cerr << "\n";
    return 1;
  } catch (const realdid::Error& e) {
    std::cerr << "realdid: " << (cmd == "verify" ? "verification failed: " : "") << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "realdid: failed: " << e.what() << "\n";
    return 1;
  }
}

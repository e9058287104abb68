// realdid revocation fetch / realdid wallet revoke / the --revocation-cache check of realdid verify
// (docs/protocol.md 10).
//
//   realdid revocation fetch --authority URL --ca FILE --cache DIR [--jwks FILE] [--now UNIX]
//       Fetches (delta or full, with If-None-Match) and verifies the signed list of every signing
//       key of the key set (pinned --jwks, else fetched anonymously) into DIR. One JSON line per
//       kid on stdout.
//   realdid revocation check --cache DIR --jwks FILE --kid KID --rid B64URL [--now UNIX]
//       Offline: exit 0 when the cached list is fresh and does not revoke rid.
//   realdid wallet revoke --wallet W --authority URL --ca FILE [--now UNIX]
//       Holder revocation of the wallet's credential (proof of possession of the holder key).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/json.h"
#include "tools/realdid/commands.h"
#include "wallet/client.h"
#include "wallet/key_set.h"
#include "wallet/revocation_client.h"
#include "wallet/wallet_file.h"

namespace realdid::cli {
namespace {

using Flags = std::map<std::string, std::string>;

constexpr const char* kUsage =
    "usage:\n"
    "  realdid revocation fetch --authority URL --ca FILE --cache DIR [--jwks FILE] [--now UNIX]\n"
    "  realdid revocation check --cache DIR --jwks FILE --kid KID --rid B64URL [--now UNIX]\n"
    "  realdid wallet revoke --wallet WALLET.json --authority URL --ca FILE [--now UNIX]\n";

int Usage(const std::string& message) {
  std::cerr << "realdid: " << message << "\n" << kUsage;
  return 2;
}

bool Parse(int argc, char** argv, int first, const std::vector<std::string>& allowed,
           const std::vector<std::string>& required, Flags& out, std::string& error) {
  for (int i = first; i < argc; ++i) {
    std::string flag = argv[i];
    if (std::find(allowed.begin(), allowed.end(), flag) == allowed.end()) {
      error = "unknown argument: " + flag;
      return false;
    }
    if (i + 1 >= argc) {
      error = flag + " needs a value";
      return false;
    }
    if (out.count(flag) != 0) {
      error = flag + " given twice";
      return false;
    }
    out[flag] = argv[++i];
  }
  for (const std::string& r : required) {
    if (out.count(r) == 0) {
      error = "missing " + r;
      return false;
    }
  }
  return true;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) InvalidInput("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::int64_t Now(const Flags& f) {
  if (f.count("--now") == 0) {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  const std::string& s = f.at("--now");
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    InvalidInput("--now must be a non-negative integer");
  }
  return std::stoll(s);
}

wallet::HttpsOptions Tls(const std::string& ca) {
  wallet::HttpsOptions o;
  o.ca_file = ca;
  return o;
}

int Fetch(const Flags& f) {
  auto key_set = [&f] {
    if (f.count("--jwks") != 0) return wallet::ParseKeySet(ReadText(f.at("--jwks")));
    wallet::AuthorityClient authority(f.at("--authority"), Tls(f.at("--ca")));
    return authority.FetchKeySet();
  };
  const wallet::KeySet ks = key_set();
  wallet::RevocationCache cache(f.at("--cache"), wallet::RevocationListKeyFrom(ks));
  wallet::HttpsClient http(f.at("--authority"), Tls(f.at("--ca")));
  for (const wallet::FetchReport& r : wallet::FetchRevocationLists(http, ks, cache, Now(f))) {
    std::cout << json::Serialize(json::Value(json::Object{
                     {"kid", r.kid},
                     {"version", r.version},
                     {"next_update", r.next_update},
                     {"key_revoked", r.key_revoked},
                     {"ids", static_cast<std::int64_t>(r.ids)},
                     {"fetched", r.how},
                     {"bytes", static_cast<std::int64_t>(r.bytes)}}))
              << "\n";
  }
  return 0;
}

int Check(const Flags& f) {
  wallet::KeySet ks = wallet::ParseKeySet(ReadText(f.at("--jwks")));
  wallet::RevocationCache cache(f.at("--cache"), wallet::RevocationListKeyFrom(ks));
  Bytes rid = b64url::Decode(f.at("--rid"));
  if (rid.size() != 32) InvalidInput("--rid must be 32 bytes");
  wallet::CheckNotRevoked(cache, f.at("--kid"), rid, Now(f));
  std::cout << "not revoked\n";
  return 0;
}

int Failed(const std::exception& e) {
  if (const auto* refusal = dynamic_cast<const wallet::ServerRefusal*>(&e)) {
    const wallet::Problem& p = refusal->problem();
    std::cerr << "realdid: refused by the server: " << p.status << " " << p.title;
    if (!p.detail.empty()) std::cerr << ": " << p.detail;
    std::cerr << "\n";
    return 1;
  }
  std::cerr << "realdid: " << e.what() << "\n";
  return 1;
}

}  // namespace

int RunRevocation(int argc, char** argv) {
  std::string sub = argc >= 3 ? argv[2] : "";
  Flags f;
  std::string error;
  try {
    if (sub == "fetch") {
      if (!Parse(argc, argv, 3, {"--authority", "--ca", "--cache", "--jwks", "--now"},
                 {"--authority", "--ca", "--cache"}, f, error)) {
        return Usage(error);
      }
      return Fetch(f);
    }
    if (sub == "check") {
      if (!Parse(argc, argv, 3, {"--cache", "--jwks", "--kid", "--rid", "--now"},
                 {"--cache", "--jwks", "--kid", "--rid"}, f, error)) {
        return Usage(error);
      }
      return Check(f);
    }
    if (sub == "help" || sub == "--help") {
      std::cout << kUsage;
      return 0;
    }
    return Usage("unknown revocation command: " + sub);
  } catch (const std::exception& e) {
    return Failed(e);
  }
}

int RunWalletRevoke(int argc, char** argv) {
  Flags f;
  std::string error;
  try {
    if (!Parse(argc, argv, 3, {"--wallet", "--authority", "--ca", "--now"},
               {"--wallet", "--authority", "--ca"}, f, error)) {
      return Usage(error);
    }
    wallet::WalletFile w = wallet::LoadWallet(f.at("--wallet"));
    wallet::HttpsClient http(f.at("--authority"), Tls(f.at("--ca")));
    wallet::RevokeResult r = wallet::RevokeCredential(http, w, Now(f));
    std::cout << json::Serialize(json::Value(
                     json::Object{{"kid", r.kid},
                                  {"revocation_id", b64url::Encode(r.revocation_id)},
                                  {"version", r.version},
                                  {"newly_revoked", r.newly_revoked}}))
              << "\n";
    return 0;
  } catch (const std::exception& e) {
    return Failed(e);
  }
}

void CheckPresentationNotRevoked(const std::string& jwks_text, const std::string& presentation,
                                 const std::string& cache_dir, std::int64_t now) {
  wallet::KeySet ks = wallet::ParseKeySet(jwks_text);
  credential::Parsed p = credential::ParseStrict(presentation, credential::Form::kPresentation);
  wallet::RevocationCache cache(cache_dir, wallet::RevocationListKeyFrom(ks));
  wallet::CheckNotRevoked(cache, p.kid, credential::RevocationId(p), now);
}

}  // namespace realdid::cli

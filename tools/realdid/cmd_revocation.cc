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
#include "tools/realdid/flags.h"
#include "wallet/client.h"
#include "wallet/key_set.h"
#include "wallet/revocation_client.h"
#include "wallet/wallet_file.h"

namespace realdid::cli {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  realdid revocation fetch --authority URL --ca FILE --cache DIR [--jwks FILE] [--now UNIX]\n"
    "  realdid revocation check --cache DIR --jwks FILE --kid KID --rid B64URL [--now UNIX]\n"
    "  realdid wallet revoke --wallet WALLET.json --authority URL --ca FILE [--now UNIX]\n";

int Usage(const std::string& message) { return UsageError(kUsage, message); }

// "--flag value" pairs from argv[3..], then the required ones.
bool Parse(int argc, char** argv, const std::vector<std::string>& allowed,
           const std::vector<std::string>& required, Flags& out, std::string& error) {
  return ParseFlags(argc, argv, 3, allowed, out, error) && Require(out, required, error);
}

int Fetch(const Flags& f) {
  auto key_set = [&f] {
    if (f.count("--jwks") != 0) return wallet::ParseKeySet(TrimEnd(ReadFile(f.at("--jwks"))));
    wallet::AuthorityClient authority(f.at("--authority"), CaOnly(f.at("--ca")));
    return authority.FetchKeySet();
  };
  const wallet::KeySet ks = key_set();
  wallet::RevocationCache cache(f.at("--cache"), wallet::RevocationListKeyFrom(ks));
  wallet::HttpsClient http(f.at("--authority"), CaOnly(f.at("--ca")));
  for (const wallet::FetchReport& r : wallet::FetchRevocationLists(http, ks, cache, NowFlag(f))) {
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
  wallet::KeySet ks = wallet::ParseKeySet(TrimEnd(ReadFile(f.at("--jwks"))));
  wallet::RevocationCache cache(f.at("--cache"), wallet::RevocationListKeyFrom(ks));
  Bytes rid = b64url::Decode(f.at("--rid"));
  if (rid.size() != 32) InvalidInput("--rid must be 32 bytes");
  wallet::CheckNotRevoked(cache, f.at("--kid"), rid, NowFlag(f));
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
      if (!Parse(argc, argv, {"--authority", "--ca", "--cache", "--jwks", "--now"},
                 {"--authority", "--ca", "--cache"}, f, error)) {
        return Usage(error);
      }
      return Fetch(f);
    }
    if (sub == "check") {
      if (!Parse(argc, argv, {"--cache", "--jwks", "--kid", "--rid", "--now"},
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
    if (!Parse(argc, argv, {"--wallet", "--authority", "--ca", "--now"},
               {"--wallet", "--authority", "--ca"}, f, error)) {
      return Usage(error);
    }
    wallet::WalletFile w = wallet::LoadWallet(f.at("--wallet"));
    wallet::HttpsClient http(f.at("--authority"), CaOnly(f.at("--ca")));
    wallet::RevokeResult r = wallet::RevokeCredential(http, w, NowFlag(f));
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

// realdid token: Privacy Pass (RFC 9577/9578 token type 0x0002) for holders and websites.
//
//   realdid token challenge --issuer-name HOST[:PORT] [--origin NAME[,NAME...]] [--context]
//   realdid token directory --authority URL --ca FILE --out DIRECTORY.json
//   realdid token fetch --wallet WALLET.json --ca FILE --challenge B64 [--count N]
//                       [--authority URL] [--out FILE] [--now UNIX]
//   realdid token attest --wallet WALLET.json --body-file FILE [--now UNIX]
//   realdid token redeem --directory DIRECTORY.json (--token TOKEN | --token-file FILE)
//                        [--challenge B64] [--seen FILE]
//
// challenge prints a TokenChallenge (padded base64url) for a website to send in
// `WWW-Authenticate: PrivateToken challenge=..., token-key=...`; --context adds a fresh 32-byte
// redemption context. fetch obtains N tokens from the authority with the wallet's credential as
// attestation (one request, or one generic batch for N > 1) and prints one token per line (padded
// base64url, the value of `Authorization: PrivateToken token=`). attest prints the
// RealDID-Attestation header for a request body (for other Privacy Pass clients). redeem verifies a
// token against the directory keys (and the challenge, when given) and, with --seen, records it in a
// file-backed seen-token set, refusing a second redemption (privacypass/redeem.h).
// Exit codes: 0 success, 1 refused or failed (reason on stderr), 2 usage error.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "core/privacypass.h"
#include "privacypass/redeem.h"
#include "tools/realdid/commands.h"
#include "tools/realdid/flags.h"
#include "wallet/client.h"
#include "wallet/https_client.h"
#include "wallet/privacypass_client.h"
#include "wallet/wallet_file.h"

namespace realdid::cli {
namespace {

constexpr const char* kTokenUsage =
    "usage:\n"
    "  realdid token challenge --issuer-name HOST[:PORT] [--origin NAME[,NAME...]] [--context]\n"
    "  realdid token directory --authority URL --ca FILE --out DIRECTORY.json\n"
    "  realdid token fetch --wallet WALLET.json --ca FILE --challenge B64 [--count N]\n"
    "                      [--authority URL] [--out FILE] [--now UNIX]\n"
    "  realdid token attest --wallet WALLET.json --body-file FILE [--now UNIX]\n"
    "  realdid token redeem --directory DIRECTORY.json (--token TOKEN | --token-file FILE)\n"
    "                       [--challenge B64] [--seen FILE]\n";

int TokenUsage(const std::string& message) { return UsageError(kTokenUsage, message); }

int Challenge(const std::map<std::string, std::string>& f) {
  std::vector<std::string> origins;
  if (auto it = f.find("--origin"); it != f.end()) {
    std::stringstream ss(it->second);
    for (std::string o; std::getline(ss, o, ',');) origins.push_back(o);
  }
  const Bytes c =
      privacypass::MakeChallenge(f.at("--issuer-name"), origins, f.count("--context") != 0);
  std::cout << privacypass::EncodeB64urlPadded(c) << "\n";
  return 0;
}

int Directory(const std::map<std::string, std::string>& f) {
  wallet::HttpsClient client(f.at("--authority"), CaOnly(f.at("--ca")));
  const wallet::HttpResponse r = client.Get(privacypass::kDirectoryPath);
  if (r.status != 200) throw wallet::ServerRefusal("privacypass directory", wallet::ParseProblem(r));
  const privacypass::Directory d = privacypass::ParseDirectory(r.body);
  std::ofstream out(f.at("--out"), std::ios::binary | std::ios::trunc);
  out << r.body << "\n";
  if (!out) InvalidInput("cannot write " + f.at("--out"));
  std::cerr << "directory: " << d.keys.size() << " token key(s), request URI "
            << d.issuer_request_uri << "\n";
  return 0;
}

int Fetch(const std::map<std::string, std::string>& f) {
  const wallet::WalletFile w = wallet::LoadWallet(f.at("--wallet"));
  const std::string authority = f.count("--authority") != 0 ? f.at("--authority") : w.authority;
  std::size_t count = 1;
  if (auto it = f.find("--count"); it != f.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) < 1 || std::stoul(v) > 1000) {
      InvalidInput("--count must be 1..1000");
    }
    count = std::stoul(v);
  }
  const Bytes challenge = privacypass::DecodeB64urlPadded(f.at("--challenge"));
  const std::int64_t now = NowFlag(f);
  wallet::HttpsClient client(authority, CaOnly(f.at("--ca")));
  const wallet::TokenIssuer issuer = wallet::FetchTokenIssuer(client, now);
  const std::vector<privacypass::Token> tokens =
      wallet::FetchTokens(client, w, issuer, challenge, count, now);
  std::ostringstream lines;
  for (const privacypass::Token& t : tokens) {
    lines << privacypass::EncodeB64urlPadded(t.Serialize()) << "\n";
  }
  if (auto it = f.find("--out"); it != f.end()) {
    std::ofstream out(it->second, std::ios::binary | std::ios::trunc);
    out << lines.str();
    if (!out) InvalidInput("cannot write " + it->second);
  } else {
    std::cout << lines.str();
  }
  std::cerr << "fetched " << tokens.size() << " token(s)\n";
  return 0;
}

int Attest(const std::map<std::string, std::string>& f) {
  const wallet::WalletFile w = wallet::LoadWallet(f.at("--wallet"));
  const std::string body = ReadFile(f.at("--body-file"));
  std::cout << wallet::PrivacyPassAttestation(w, AsBytes(body), NowFlag(f)) << "\n";
  return 0;
}

int Redeem(const std::map<std::string, std::string>& f) {
  const privacypass::Directory d = privacypass::ParseDirectory(ReadFile(f.at("--directory")));
  std::string token_text;
  if (auto it = f.find("--token"); it != f.end()) {
    token_text = it->second;
  } else {
    token_text = ReadFile(f.at("--token-file"));
    token_text = token_text.substr(0, token_text.find('\n'));
  }
  const Bytes token = privacypass::TokenFromAuthorization(token_text);
  std::optional<Bytes> challenge;
  if (auto it = f.find("--challenge"); it != f.end()) {
    challenge = privacypass::DecodeB64urlPadded(it->second);
  }
  std::optional<privacypass::SeenNonceStore> seen;
  if (auto it = f.find("--seen"); it != f.end()) seen.emplace(it->second);
  const privacypass::Redeemed r = privacypass::Redeem(
      d, token, challenge ? std::optional<ByteView>(*challenge) : std::nullopt,
      seen ? &*seen : nullptr);
  json::Object out = {{"valid", true},
                      {"token_type", 2},
                      {"token_key_id", ToHex(r.token_key_id)},
                      {"challenge_checked", challenge.has_value()},
                      {"double_spend_checked", seen.has_value()}};
  std::cout << json::Serialize(json::Value(std::move(out))) << "\n";
  return 0;
}

}  // namespace

int RunToken(int argc, char** argv) {
  if (argc < 3) return TokenUsage("missing token subcommand");
  const std::string sub = argv[2];
  std::map<std::string, std::string> f;
  std::string error;
  try {
    if (sub == "challenge") {
      if (!ParseFlags(argc, argv, 3, {"--issuer-name", "--origin"}, f, error, {"--context"}) ||
          !Require(f, {"--issuer-name"}, error)) {
        return TokenUsage(error);
      }
      return Challenge(f);
    }
    if (sub == "directory") {
      if (!ParseFlags(argc, argv, 3, {"--authority", "--ca", "--out"}, f, error) ||
          !Require(f, {"--authority", "--ca", "--out"}, error)) {
        return TokenUsage(error);
      }
      return Directory(f);
    }
    if (sub == "fetch") {
      if (!ParseFlags(argc, argv, 3,
                      {"--wallet", "--ca", "--challenge", "--count", "--authority", "--out",
                       "--now"},
                      f, error) ||
          !Require(f, {"--wallet", "--ca", "--challenge"}, error)) {
        return TokenUsage(error);
      }
      return Fetch(f);
    }
    if (sub == "attest") {
      if (!ParseFlags(argc, argv, 3, {"--wallet", "--body-file", "--now"}, f, error) ||
          !Require(f, {"--wallet", "--body-file"}, error)) {
        return TokenUsage(error);
      }
      return Attest(f);
    }
    if (sub == "redeem") {
      if (!ParseFlags(argc, argv, 3,
                      {"--directory", "--token", "--token-file", "--challenge", "--seen"}, f,
                      error) ||
          !Require(f, {"--directory"}, error)) {
        return TokenUsage(error);
      }
      if ((f.count("--token") != 0) == (f.count("--token-file") != 0)) {
        return TokenUsage("exactly one of --token and --token-file");
      }
      return Redeem(f);
    }
    return TokenUsage("unknown token subcommand: " + sub);
  } catch (const wallet::ServerRefusal& e) {
    std::cerr << "realdid: refused: " << e.problem().Describe() << "\n";
    return 1;
  } catch (const Error& e) {
    std::cerr << "realdid: " << ErrorKindName(e.kind()) << ": " << e.detail() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "realdid: failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace realdid::cli

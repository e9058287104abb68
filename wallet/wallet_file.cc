#include "wallet/wallet_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base64url.h"
#include "core/error.h"
#include "core/jws.h"
#include "core/sdjwt.h"

namespace realdid::wallet {
namespace {

void WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Fail(ErrorKind::kInternal, "wallet file: write failed: " + what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void SaveWallet(const std::filesystem::path& path, std::string_view authority,
                const IssuedCredential& cred) {
  json::Value jwk = cred.holder_jwk;
  jwk.set("d", b64url::Encode(cred.holder_d.reveal()));
  json::Value doc = json::Object{{"version", 1},
                                 {"authority", std::string(authority)},
                                 {"kid", cred.kid},
                                 {"credential", cred.issued},
                                 {"holder_jwk", std::move(jwk)}};
  std::string text = json::Serialize(doc) + "\n";
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(text.data(), text.size());
    Fail(ErrorKind::kInvalidInput, "wallet file: cannot create " + tmp.string());
  }
  try {
    if (::fchmod(fd, 0600) != 0) Fail(ErrorKind::kInternal, "wallet file: fchmod failed");
    WriteAll(fd, text, tmp.string());
    if (::fsync(fd) != 0) Fail(ErrorKind::kInternal, "wallet file: fsync failed");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    OPENSSL_cleanse(text.data(), text.size());
    throw;
  }
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    Fail(ErrorKind::kInternal, "wallet file: rename to " + path.string() + " failed");
  }
}

WalletFile LoadWallet(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) InvalidInput("wallet file: cannot open " + path.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    InvalidInput("wallet file: " + path.string() + " must be mode 0600 (not group/other accessible)");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (1 << 20)) break;
  }
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  WalletFile w;
  try {
    json::Value doc = json::Parse(text);
    OPENSSL_cleanse(text.data(), text.size());
    if (doc.at("version").as_int() != 1) InvalidInput("wallet file: unsupported version");
    w.authority = doc.at("authority").as_string();
    w.kid = doc.at("kid").as_string();
    w.credential = doc.at("credential").as_string();
    const json::Value& jwk = doc.at("holder_jwk");
    w.holder_d = Secret(b64url::Decode(jwk.at("d").as_string()));
    w.holder_jwk = json::Object{{"kty", jwk.at("kty").as_string()},
                                {"crv", jwk.at("crv").as_string()},
                                {"x", jwk.at("x").as_string()},
                                {"y", jwk.at("y").as_string()}};
  } catch (const Error& e) {
    OPENSSL_cleanse(text.data(), text.size());
    InvalidInput(std::string("wallet file: malformed: ") + e.what());
  }
  if (w.holder_d.size() != 32) InvalidInput("wallet file: holder key d is not 32 bytes");
  credential::Parsed p = credential::ParseStrict(w.credential, credential::Form::kIssued);
  jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(w.holder_d.reveal());
  if (!(holder.Public().Jwk() == p.cnf_jwk) || !(w.holder_jwk == p.cnf_jwk)) {
    InvalidInput("wallet file: the holder key does not match the credential's cnf.jwk");
  }
  return w;
}

std::string Present(const WalletFile& wallet, const std::vector<std::string>& disclose,
                    std::string_view aud, std::string_view nonce, std::int64_t now) {
  for (std::size_t i = 0; i < disclose.size(); ++i) {
    const auto& name = disclose[i];
    if (std::find(credential::kDisclosedClaims.begin(), credential::kDisclosedClaims.end(), name) ==
        credential::kDisclosedClaims.end()) {
      InvalidInput("present: unknown claim \"" + name + "\"");
    }
    if (std::find(disclose.begin(), disclose.begin() + static_cast<std::ptrdiff_t>(i), name) !=
        disclose.begin() + static_cast<std::ptrdiff_t>(i)) {
      InvalidInput("present: claim \"" + name + "\" named twice");
    }
  }
  if (aud.empty()) InvalidInput("present: audience is empty");
  if (nonce.empty()) InvalidInput("present: nonce is empty");
  jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(wallet.holder_d.reveal());
  return sdjwt::Present(wallet.credential, disclose, holder, aud, nonce, now);
}

std::string VerifyResult::ToJson() const {
  json::Value v = json::Object{{"kid", kid}, {"iss", iss}, {"iat", iat}, {"exp", exp},
                               {"disclosed", disclosed}};
  return json::Serialize(v);
}

VerifyResult VerifyOffline(const KeySet& keys, std::string_view presentation, std::string_view aud,
                           std::string_view nonce, std::int64_t now) {
  sdjwt::VerifyOptions o;
  o.issuer_keys = keys.Lookup(now);
  o.now = now;
  o.audience = std::string(aud);
  o.nonce = std::string(nonce);
  credential::VerifiedPresentation vp = credential::VerifyPresentation(presentation, o);
  VerifyResult r;
  r.kid = vp.parsed.kid;
  r.iss = vp.parsed.iss;
  r.iat = vp.parsed.iat;
  r.exp = vp.parsed.exp;
  json::Object disclosed;
  for (std::size_t i = 0; i < credential::kNumDisclosed; ++i) {
    if (vp.parsed.claims[i].has_value()) {
      disclosed.emplace_back(std::string(credential::kDisclosedClaims[i]), *vp.parsed.claims[i]);
    }
  }
  r.disclosed = std::move(disclosed);
  return r;
}

}  // namespace realdid::wallet

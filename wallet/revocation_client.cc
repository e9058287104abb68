#include "wallet/revocation_client.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "core/base64url.h"
#include "core/credential.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"

namespace realdid::wallet {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void Refuse(const std::string& what) { InvalidInput("revocation: " + what); }

bool ReadFile(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

void WriteFileAtomic(const fs::path& p, std::string_view data) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) Fail(ErrorKind::kInternal, "revocation cache: cannot write " + tmp.string());
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) Fail(ErrorKind::kInternal, "revocation cache: cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) Fail(ErrorKind::kInternal, "revocation cache: cannot rename " + tmp.string());
}

bool SafeKid(std::string_view kid) {
  if (kid.size() != 43) return false;
  for (char c : kid) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

RevocationListKey RevocationListKeyFrom(const KeySet& keys) {
  json::Value doc = json::Parse(keys.text);
  const json::Value* r = doc.find("revocation");
  if (r == nullptr || !r->is_object()) Refuse("the key set publishes no revocation-list key");
  const json::Value* kid = r->find("kid");
  const json::Value* alg = r->find("alg");
  if (kid == nullptr || !kid->is_string() || alg == nullptr || !alg->is_string() ||
      alg->as_string() != "ES256") {
    Refuse("the revocation-list key must be an ES256 key with a kid");
  }
  json::Value pub = jwk::EcP256Public(b64url::Decode(r->at("x").as_string()),
                                      b64url::Decode(r->at("y").as_string()));
  if (jwk::Kid(pub) != kid->as_string()) Refuse("the revocation-list kid is not its thumbprint");
  return RevocationListKey{kid->as_string(), jws::PublicKey::FromJwk(pub)};
}

RevocationCache::RevocationCache(fs::path dir, RevocationListKey key)
    : dir_(std::move(dir)), key_(std::move(key)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) Fail(ErrorKind::kInternal, "revocation cache: cannot create " + dir_.string());
}

fs::path RevocationCache::File(std::string_view kid, std::string_view ext) const {
  if (!SafeKid(kid)) Refuse("a kid must be 43 base64url characters");
  return dir_ / (std::string(kid) + std::string(ext));
}

std::optional<revocation::List> RevocationCache::Load(std::string_view kid) const {
  std::string full;
  if (!ReadFile(File(kid, ".full.jws"), &full)) return std::nullopt;
  revocation::List list = revocation::Verify(full, key_.pk, key_.kid, false);
  if (list.kid != kid) Refuse("cached list is for another kid");
  std::string deltas;
  if (ReadFile(File(kid, ".deltas"), &deltas)) {
    for (const std::string& line : Lines(deltas)) {
      list = revocation::ApplyDelta(list, revocation::Verify(line, key_.pk, key_.kid, true));
    }
  }
  return list;
}

std::size_t RevocationCache::DeltaCount(std::string_view kid) const {
  std::string deltas;
  if (!ReadFile(File(kid, ".deltas"), &deltas)) return 0;
  return Lines(deltas).size();
}

std::optional<std::string> RevocationCache::Etag(std::string_view kid,
                                                 std::string_view path) const {
  std::string text;
  if (!ReadFile(File(kid, ".etag"), &text)) return std::nullopt;
  std::size_t sp = text.find(' ');
  if (sp == std::string::npos || text.substr(0, sp) != path) return std::nullopt;
  return text.substr(sp + 1);
}

revocation::List RevocationCache::StoreFull(std::string_view jws, std::string_view path,
                                            std::string_view etag, std::int64_t now) {
  revocation::List list = revocation::Verify(jws, key_.pk, key_.kid, false);
  revocation::CheckFresh(list, now);
  std::optional<revocation::List> cached = Load(list.kid);
  if (cached) revocation::CheckNotRolledBack(*cached, list);
  WriteFileAtomic(File(list.kid, ".full.jws"), jws);
  WriteFileAtomic(File(list.kid, ".deltas"), "");
  WriteFileAtomic(File(list.kid, ".etag"), std::string(path) + " " + std::string(etag));
  return list;
}

revocation::List RevocationCache::StoreDelta(std::string_view kid, std::string_view jws,
                                             std::string_view path, std::string_view etag,
                                             std::int64_t now) {
  std::optional<revocation::List> cached = Load(kid);
  if (!cached) Refuse("a delta needs a cached full list");
  revocation::List delta = revocation::Verify(jws, key_.pk, key_.kid, true);
  if (delta.kid != kid) Refuse("delta is for another kid");
  revocation::CheckFresh(delta, now);
  revocation::List merged = revocation::ApplyDelta(*cached, delta);
  std::string deltas;
  ReadFile(File(kid, ".deltas"), &deltas);
  deltas.append(jws);
  deltas.push_back('\n');
  WriteFileAtomic(File(kid, ".deltas"), deltas);
  WriteFileAtomic(File(kid, ".etag"), std::string(path) + " " + std::string(etag));
  return merged;
}

std::vector<FetchReport> FetchRevocationLists(HttpsClient& http, const KeySet& keys,
                                              RevocationCache& cache, std::int64_t now) {
  std::vector<FetchReport> out;
  for (const SigningKey& k : keys.keys) {
    const std::string full_path = "/v1/revocation/lists/" + k.kid;
    std::optional<revocation::List> cached = cache.Load(k.kid);
    FetchReport rep;
    rep.kid = k.kid;
    bool done = false;
    // A fresh cached list: ask for the delta since its version.
    if (cached && cache.DeltaCount(k.kid) < kMaxDeltaChain && now <= cached->next_update) {
      const std::string path = full_path + "/deltas/" + std::to_string(cached->version);
      HttpsClient::Headers headers;
      if (auto etag = cache.Etag(k.kid, path)) headers.emplace_back("If-None-Match", *etag);
      HttpResponse r = http.GetWithHeaders(path, headers);
      if (r.status == 304) {
        rep.how = "not-modified";
        done = true;
      } else if (r.status == 200) {
        *cached = cache.StoreDelta(k.kid, r.body, path, r.etag, now);
        rep.how = "delta";
        rep.bytes = r.body.size();
        done = true;
      }
      // Anything else (e.g. 409: our version is unknown to the server): fetch the full list,
      // which StoreFull still checks against the cached one for rollback.
    }
    if (!done) {
      HttpsClient::Headers headers;
      if (cached && now <= cached->next_update && cache.DeltaCount(k.kid) == 0) {
        if (auto etag = cache.Etag(k.kid, full_path)) headers.emplace_back("If-None-Match", *etag);
      }
      HttpResponse r = http.GetWithHeaders(full_path, headers);
      if (r.status == 304 && cached) {
        rep.how = "not-modified";
      } else if (r.status == 200) {
        cached = cache.StoreFull(r.body, full_path, r.etag, now);
        rep.how = "full";
        rep.bytes = r.body.size();
      } else {
        throw ServerRefusal("revocation list", ParseProblem(r));
      }
    }
    rep.version = cached->version;
    rep.next_update = cached->next_update;
    rep.key_revoked = cached->key_revoked;
    rep.ids = cached->ids.size();
    out.push_back(std::move(rep));
  }
  return out;
}

void CheckNotRevoked(const RevocationCache& cache, std::string_view kid, ByteView revocation_id,
                     std::int64_t now) {
  std::optional<revocation::List> list = cache.Load(kid);
  if (!list) Refuse("no cached list for the credential's key (run: realdid revocation fetch)");
  revocation::CheckFresh(*list, now);
  if (list->key_revoked) Refuse("the credential's signing key is revoked");
  if (list->Revokes(revocation_id)) Refuse("the credential is revoked");
}

RevokeResult RevokeCredential(HttpsClient& http, const WalletFile& wallet, std::int64_t now) {
  credential::Parsed cred = credential::ParseStrict(wallet.credential, credential::Form::kIssued);
  HttpResponse n = http.Post("/v1/revocation/nonce", "{}");
  if (n.status != 200) throw ServerRefusal("revocation nonce", ParseProblem(n));
  json::Value nv = json::Parse(n.body);
  revocation::HolderProof proof;
  proof.aud = cred.iss;
  proof.nonce = b64url::Decode(nv.at("nonce").as_string());
  proof.iat = now;
  proof.rid = credential::RevocationId(cred);
  jws::PrivateKey holder = jws::PrivateKey::EcP256FromScalar(wallet.holder_d.reveal());
  std::string body = revocation::HolderRequestJson(
      {wallet.credential, revocation::MakeHolderProof(holder, proof)});
  HttpResponse r = http.Post("/v1/revocations", body);
  if (r.status != 200) throw ServerRefusal("revocation", ParseProblem(r));
  json::Value v = json::Parse(r.body);
  RevokeResult out;
  out.kid = v.at("kid").as_string();
  out.revocation_id = b64url::Decode(v.at("revocation_id").as_string());
  out.version = v.at("version").as_int();
  out.newly_revoked = v.at("newly_revoked").as_bool();
  if (out.kid != cred.kid || out.revocation_id != proof.rid) {
    Refuse("the authority answered for another credential");
  }
  return out;
}

}  // namespace realdid::wallet

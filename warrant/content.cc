#include "warrant/content.h"

#include <algorithm>
#include <initializer_list>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/hpke.h"
#include "core/jwk.h"
#include "core/jws.h"

namespace realdid::warrant {
namespace {

constexpr json::ParseLimits kBodyLimits{std::size_t{64} * 1024, 8};

json::Value ParseObject(std::string_view text, std::string_view what) {
  json::Value v = json::Parse(text, kBodyLimits);
  if (!v.is_object()) InvalidInput(std::string(what) + ": must be a JSON object");
  return v;
}

// Exactly these members (any order unless the caller checks canonical form separately).
void RequireMembers(const json::Value& v, std::initializer_list<std::string_view> names,
                    std::string_view what) {
  const json::Object& o = v.as_object();
  if (o.size() != names.size()) InvalidInput(std::string(what) + ": unexpected set of members");
  for (const json::Member& m : o) {
    if (std::find(names.begin(), names.end(), m.first) == names.end()) {
      InvalidInput(std::string(what) + ": unknown member " + m.first);
    }
  }
}

const std::string& Str(const json::Value& v, std::string_view key, std::string_view what) {
  const json::Value& m = v.at(key);
  if (!m.is_string()) InvalidInput(std::string(what) + ": " + std::string(key) + " must be a string");
  return m.as_string();
}

std::int64_t Int(const json::Value& v, std::string_view key, std::string_view what) {
  const json::Value& m = v.at(key);
  if (!m.is_int()) InvalidInput(std::string(what) + ": " + std::string(key) + " must be an integer");
  return m.as_int();
}

Bytes B64(const json::Value& v, std::string_view key, std::size_t len, std::string_view what) {
  Bytes b = b64url::Decode(Str(v, key, what));
  if (b.size() != len) {
    InvalidInput(std::string(what) + ": " + std::string(key) + " must be " + std::to_string(len) +
                 " bytes");
  }
  return b;
}

// Printable text without control characters, 1..max bytes (UTF-8 allowed; the JSON parser has
// already refused invalid UTF-8).
std::string Text(const json::Value& v, std::string_view key, std::size_t max, std::string_view what) {
  const std::string& s = Str(v, key, what);
  if (s.empty() || s.size() > max) {
    InvalidInput(std::string(what) + ": " + std::string(key) + " must have 1.." +
                 std::to_string(max) + " bytes");
  }
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      InvalidInput(std::string(what) + ": " + std::string(key) + " has a control character");
    }
  }
  return s;
}

Action ParseAction(const std::string& s, std::string_view what) {
  if (s == "resolve") return Action::kResolve;
  if (s == "revoke") return Action::kRevoke;
  InvalidInput(std::string(what) + ": action must be resolve or revoke");
}

Scope ParseScope(const json::Value& v, std::string_view what) {
  if (!v.is_object() || v.as_object().size() != 1) {
    InvalidInput(std::string(what) + ": scope must have exactly one member");
  }
  Scope s;
  if (v.find("credential_sha256") != nullptr) {
    s.credential_sha256 = B64(v, "credential_sha256", kHashLen, what);
  } else if (v.find("person_id") != nullptr) {
    std::int64_t id = Int(v, "person_id", what);
    if (id <= 0) InvalidInput(std::string(what) + ": person_id must be positive");
    s.person_id = id;
  } else {
    InvalidInput(std::string(what) + ": scope must be credential_sha256 or person_id");
  }
  return s;
}

json::Value ScopeJson(const Scope& s) {
  json::Value v = json::Object{};
  if (s.credential_sha256) {
    v.set("credential_sha256", b64url::Encode(*s.credential_sha256));
  } else if (s.person_id) {
    v.set("person_id", *s.person_id);
  } else {
    InvalidInput("warrant: empty scope");
  }
  return v;
}

void CheckScopeAction(const Scope& s, Action a, std::string_view what) {
  if (s.is_credential() && a != Action::kResolve) {
    InvalidInput(std::string(what) + ": a credential scope allows only action resolve");
  }
}

RosterChangeRequest ParseChangeFields(const json::Value& v, bool with_meta, std::string_view what) {
  RosterChangeRequest r;
  const std::string& op = Str(v, "op", what);
  if (op == "add") {
    if (with_meta) {
      RequireMembers(v, {"v", "kind", "op", "label", "cert_sha256", "public_jwk", "proposed_at_us",
                         "expires_at", "nonce"}, what);
    } else {
      RequireMembers(v, {"op", "label", "cert_sha256", "public_jwk", "expires_at"}, what);
    }
    r.op = RosterOp::kAdd;
    r.label = Str(v, "label", what);
    CheckLabel(r.label);
    r.cert_sha256 = B64(v, "cert_sha256", kHashLen, what);
    r.public_jwk = CanonicalP256Jwk(v.at("public_jwk"));
  } else if (op == "remove") {
    if (with_meta) {
      RequireMembers(v, {"v", "kind", "op", "auditor_id", "proposed_at_us", "expires_at", "nonce"},
                     what);
    } else {
      RequireMembers(v, {"op", "auditor_id", "expires_at"}, what);
    }
    r.op = RosterOp::kRemove;
    r.auditor_id = Int(v, "auditor_id", what);
    if (r.auditor_id <= 0) InvalidInput(std::string(what) + ": auditor_id must be positive");
  } else {
    InvalidInput(std::string(what) + ": op must be add or remove");
  }
  r.expires_at = Int(v, "expires_at", what);
  if (r.expires_at <= 0) InvalidInput(std::string(what) + ": expires_at must be positive");
  return r;
}

}  // namespace

std::string_view ActionName(Action a) noexcept { return a == Action::kRevoke ? "revoke" : "resolve"; }

void CheckLabel(std::string_view label) {
  if (label.empty() || label.size() > 64) InvalidInput("roster: label must have 1..64 characters");
  for (std::size_t i = 0; i < label.size(); ++i) {
    char c = label[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != ' ' && c != '.' && c != '_' && c != '-'))) {
      InvalidInput("roster: label may hold only letters, digits, space, '.', '_' and '-'");
    }
  }
}

json::Value CanonicalP256Jwk(const json::Value& jwk) {
  if (!jwk.is_object()) InvalidInput("roster: public_jwk must be an object");
  RequireMembers(jwk, {"kty", "crv", "x", "y"}, "roster: public_jwk");
  if (Str(jwk, "kty", "public_jwk") != "EC" || Str(jwk, "crv", "public_jwk") != "P-256") {
    InvalidInput("roster: public_jwk must be an EC P-256 key");
  }
  Bytes x = B64(jwk, "x", 32, "public_jwk");
  Bytes y = B64(jwk, "y", 32, "public_jwk");
  Bytes point = Concat({Bytes{0x04}, x, y});
  (void)hpke::DeserializePublicKey(point);  // on the curve, not infinity
  return jwk::EcP256Public(x, y);
}

std::string SerializeWarrant(const WarrantContent& c) {
  CheckScopeAction(c.scope, c.action, "warrant");
  json::Value v = json::Object{};
  v.set("v", 1);
  v.set("kind", "warrant");
  v.set("author", c.author);
  v.set("legal_basis", c.legal_basis);
  v.set("case_reference", c.case_reference);
  v.set("scope", ScopeJson(c.scope));
  v.set("action", std::string(ActionName(c.action)));
  v.set("filed_at_us", c.filed_at_us);
  v.set("expires_at", c.expires_at);
  v.set("nonce", b64url::Encode(c.nonce));
  return json::Serialize(v);
}

WarrantContent ParseWarrant(std::string_view canonical) {
  constexpr std::string_view what = "warrant";
  json::Value v = ParseObject(canonical, what);
  RequireMembers(v, {"v", "kind", "author", "legal_basis", "case_reference", "scope", "action",
                     "filed_at_us", "expires_at", "nonce"}, what);
  if (Int(v, "v", what) != 1 || Str(v, "kind", what) != "warrant") {
    InvalidInput("warrant: not a version 1 warrant");
  }
  WarrantContent c;
  c.author = Int(v, "author", what);
  c.legal_basis = Text(v, "legal_basis", kMaxLegalBasis, what);
  c.case_reference = Text(v, "case_reference", kMaxCaseReference, what);
  c.scope = ParseScope(v.at("scope"), what);
  c.action = ParseAction(Str(v, "action", what), what);
  CheckScopeAction(c.scope, c.action, what);
  c.filed_at_us = Int(v, "filed_at_us", what);
  c.expires_at = Int(v, "expires_at", what);
  c.nonce = B64(v, "nonce", kNonceLen, what);
  if (c.author <= 0 || c.filed_at_us <= 0 || c.expires_at <= 0) {
    InvalidInput("warrant: author and times must be positive");
  }
  // Rebuilt from the values, byte for byte: member order, escapes and integers are canonical.
  if (SerializeWarrant(c) != canonical) InvalidInput("warrant: not in canonical form");
  return c;
}

std::string SerializeRosterChange(const RosterChangeContent& c) {
  json::Value v = json::Object{};
  v.set("v", 1);
  v.set("kind", "roster_change");
  if (c.change.op == RosterOp::kAdd) {
    v.set("op", "add");
    v.set("label", c.change.label);
    v.set("cert_sha256", b64url::Encode(c.change.cert_sha256));
    v.set("public_jwk", CanonicalP256Jwk(c.change.public_jwk));
  } else {
    v.set("op", "remove");
    v.set("auditor_id", c.change.auditor_id);
  }
  v.set("proposed_at_us", c.proposed_at_us);
  v.set("expires_at", c.change.expires_at);
  v.set("nonce", b64url::Encode(c.nonce));
  return json::Serialize(v);
}

RosterChangeContent ParseRosterChange(std::string_view canonical) {
  constexpr std::string_view what = "roster change";
  json::Value v = ParseObject(canonical, what);
  RosterChangeContent c;
  c.change = ParseChangeFields(v, true, what);
  if (Int(v, "v", what) != 1 || Str(v, "kind", what) != "roster_change") {
    InvalidInput("roster change: not a version 1 roster change");
  }
  c.proposed_at_us = Int(v, "proposed_at_us", what);
  if (c.proposed_at_us <= 0) InvalidInput("roster change: proposed_at_us must be positive");
  c.nonce = B64(v, "nonce", kNonceLen, what);
  if (SerializeRosterChange(c) != canonical) InvalidInput("roster change: not in canonical form");
  return c;
}

Bytes ContentHash(std::string_view content) { return hash::Sha256(content); }

Bytes ApprovalMessage(ApprovalKind kind, ByteView content_hash) {
  if (content_hash.size() != kHashLen) InvalidInput("approval: content hash must be 32 bytes");
  std::string_view prefix =
      kind == ApprovalKind::kWarrant ? "realdid/v1/approve/warrant:" : "realdid/v1/approve/roster:";
  return Concat({AsBytes(prefix), content_hash});
}

bool VerifyApproval(const json::Value& public_jwk, ApprovalKind kind, ByteView content_hash,
                    ByteView signature) {
  if (signature.size() != kSignatureLen) return false;
  try {
    jws::PublicKey key = jws::PublicKey::FromJwk(CanonicalP256Jwk(public_jwk));
    Bytes msg = ApprovalMessage(kind, content_hash);
    return jws::VerifyRaw(key, jws::Alg::kES256, ToString(msg), signature);
  } catch (const Error&) {
    return false;
  }
}

FileRequest ParseFileRequest(std::string_view body) {
  constexpr std::string_view what = "file warrant";
  json::Value v = ParseObject(body, what);
  RequireMembers(v, {"legal_basis", "case_reference", "scope", "action", "expires_at"}, what);
  FileRequest r;
  r.legal_basis = Text(v, "legal_basis", kMaxLegalBasis, what);
  r.case_reference = Text(v, "case_reference", kMaxCaseReference, what);
  r.scope = ParseScope(v.at("scope"), what);
  r.action = ParseAction(Str(v, "action", what), what);
  CheckScopeAction(r.scope, r.action, what);
  r.expires_at = Int(v, "expires_at", what);
  if (r.expires_at <= 0) InvalidInput("file warrant: expires_at must be positive");
  return r;
}

Bytes ParseApprovalRequest(std::string_view body) {
  constexpr std::string_view what = "approval";
  json::Value v = ParseObject(body, what);
  RequireMembers(v, {"signature"}, what);
  return B64(v, "signature", kSignatureLen, what);
}

std::optional<std::string> ParseExecuteRequest(std::string_view body) {
  constexpr std::string_view what = "execute";
  json::Value v = ParseObject(body, what);
  if (v.as_object().empty()) return std::nullopt;
  RequireMembers(v, {"credential"}, what);
  const std::string& c = Str(v, "credential", what);
  if (c.empty() || c.size() > kMaxCredential) InvalidInput("execute: credential has a bad length");
  return c;
}

RosterChangeRequest ParseRosterChangeRequest(std::string_view body) {
  constexpr std::string_view what = "roster change";
  json::Value v = ParseObject(body, what);
  return ParseChangeFields(v, false, what);
}

std::vector<GenesisAuditor> ParseGenesisRoster(std::string_view text) {
  constexpr std::string_view what = "genesis roster";
  json::Value v = ParseObject(text, what);
  RequireMembers(v, {"v", "auditors"}, what);
  if (Int(v, "v", what) != 1) InvalidInput("genesis roster: version must be 1");
  const json::Value& list = v.at("auditors");
  if (!list.is_array() || list.as_array().empty() || list.as_array().size() > 256) {
    InvalidInput("genesis roster: auditors must be a list of 1..256 entries");
  }
  std::vector<GenesisAuditor> out;
  for (const json::Value& e : list.as_array()) {
    if (!e.is_object()) InvalidInput("genesis roster: an entry must be an object");
    RequireMembers(e, {"label", "cert_sha256", "public_jwk"}, what);
    GenesisAuditor a;
    a.label = Str(e, "label", what);
    CheckLabel(a.label);
    a.cert_sha256 = B64(e, "cert_sha256", kHashLen, what);
    a.public_jwk = CanonicalP256Jwk(e.at("public_jwk"));
    for (const GenesisAuditor& o : out) {
      if (o.cert_sha256 == a.cert_sha256 || o.public_jwk == a.public_jwk) {
        InvalidInput("genesis roster: repeated certificate or key");
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace realdid::warrant

#include "core/privacypass.h"

#include <algorithm>
#include <cctype>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"

namespace realdid::privacypass {

namespace {

// DER of SubjectPublicKeyInfo { id-RSASSA-PSS { SHA-384, MGF1(SHA-384), saltLength 48 },
// BIT STRING { RSAPublicKey { n (257-byte INTEGER: 0x00 || 256-byte n), e = 65537 } } }.
// Fixed for RSA-2048 with e = 65537 (the modulus' top bit is always set, so n needs the 0x00).
constexpr std::uint8_t kSpkiPrefix[] = {
    0x30, 0x82, 0x01, 0x52, 0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x0a, 0x30, 0x30, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x02, 0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
    0x0d, 0x01, 0x01, 0x08, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x02, 0xa2, 0x03, 0x02, 0x01, 0x30, 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82, 0x01,
    0x0a, 0x02, 0x82, 0x01, 0x01, 0x00};
constexpr std::uint8_t kSpkiSuffix[] = {0x02, 0x03, 0x01, 0x00, 0x01};

constexpr std::uint64_t kVarintMax = (std::uint64_t{1} << 62) - 1;

// Sequential reader over a byte string; every read checks the remaining length.
class Reader {
 public:
  Reader(ByteView b, const char* what) : b_(b), what_(what) {}
  std::uint8_t U8() { return Take(1)[0]; }
  std::uint16_t U16() {
    ByteView v = Take(2);
    return static_cast<std::uint16_t>((v[0] << 8) | v[1]);
  }
  ByteView Take(std::size_t n) {
    if (n > b_.size() - pos_) InvalidInput(std::string(what_) + ": truncated");
    ByteView v = b_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  std::size_t remaining() const noexcept { return b_.size() - pos_; }
  void End() const {
    if (pos_ != b_.size()) InvalidInput(std::string(what_) + ": trailing bytes");
  }

 private:
  ByteView b_;
  std::size_t pos_ = 0;
  const char* what_;
};

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Issuer names are opaque in RFC 9577; printable ASCII including the space (the RFC 9578 vectors
// use "Issuer Name").
bool PrintableAsciiOrSpace(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

void CheckOriginName(std::string_view o) {
  if (o.empty() || !PrintableAscii(o) || o.find(',') != std::string_view::npos) {
    InvalidInput("TokenChallenge: origin_info names must be non-empty printable ASCII without ','");
  }
}

Bytes U16(std::size_t v, const char* what) {
  if (v > 0xffff) InvalidInput(std::string(what) + " longer than 65535 bytes");
  return U16BE(static_cast<std::uint16_t>(v));
}

void RequireSize(ByteView b, std::size_t n, const char* what) {
  if (b.size() != n) InvalidInput(std::string(what) + " must be " + std::to_string(n) + " bytes");
}

}  // namespace

// ---- TokenChallenge ----

Bytes TokenChallenge::Serialize() const {
  if (token_type != kTokenTypeBlindRsa) InvalidInput("TokenChallenge: token type must be 0x0002");
  if (issuer_name.empty() || !PrintableAsciiOrSpace(issuer_name)) {
    InvalidInput("TokenChallenge: issuer_name must be non-empty printable ASCII");
  }
  if (!redemption_context.empty() && redemption_context.size() != kRedemptionContextSize) {
    InvalidInput("TokenChallenge: redemption_context must be 0 or 32 bytes");
  }
  std::string origins;
  for (const std::string& o : origin_info) {
    CheckOriginName(o);
    if (!origins.empty()) origins += ',';
    origins += o;
  }
  return Concat({U16BE(token_type), U16(issuer_name.size(), "issuer_name"), AsBytes(issuer_name),
                 Bytes{static_cast<std::uint8_t>(redemption_context.size())}, redemption_context,
                 U16(origins.size(), "origin_info"), AsBytes(origins)});
}

TokenChallenge TokenChallenge::Parse(ByteView bytes) {
  Reader r(bytes, "TokenChallenge");
  TokenChallenge c;
  c.token_type = r.U16();
  if (c.token_type != kTokenTypeBlindRsa) InvalidInput("TokenChallenge: token type must be 0x0002");
  const std::uint16_t name_len = r.U16();
  c.issuer_name = ToString(r.Take(name_len));
  if (c.issuer_name.empty() || !PrintableAsciiOrSpace(c.issuer_name)) {
    InvalidInput("TokenChallenge: issuer_name must be non-empty printable ASCII");
  }
  const std::uint8_t ctx_len = r.U8();
  if (ctx_len != 0 && ctx_len != kRedemptionContextSize) {
    InvalidInput("TokenChallenge: redemption_context must be 0 or 32 bytes");
  }
  const ByteView ctx = r.Take(ctx_len);
  c.redemption_context.assign(ctx.begin(), ctx.end());
  const std::uint16_t origin_len = r.U16();
  const std::string origins = ToString(r.Take(origin_len));
  r.End();
  if (!origins.empty()) {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = origins.find(',', start);
      const std::string name = origins.substr(start, comma == std::string::npos ? std::string::npos
                                                                                : comma - start);
      CheckOriginName(name);
      c.origin_info.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return c;
}

// ---- keys ----

Bytes PssSpki(const blind_rsa::PublicKey& pk) {
  if (pk.modulus_bits() != 2048 || pk.e() != Bytes{0x01, 0x00, 0x01}) {
    InvalidInput("token type 0x0002 needs an RSA-2048 key with e = 65537");
  }
  return Concat({kSpkiPrefix, pk.n(), kSpkiSuffix});
}

Bytes TokenKeyId(ByteView spki) { return hash::Sha256(spki); }

// ---- TokenRequest / TokenResponse ----

Bytes TokenRequest::Serialize() const {
  RequireSize(blinded_msg, kNk, "TokenRequest: blinded_msg");
  return Concat({U16BE(kTokenTypeBlindRsa), Bytes{truncated_token_key_id}, blinded_msg});
}

TokenRequest TokenRequest::Parse(ByteView bytes) {
  Reader r(bytes, "TokenRequest");
  if (r.U16() != kTokenTypeBlindRsa) InvalidInput("TokenRequest: token type must be 0x0002");
  TokenRequest t;
  t.truncated_token_key_id = r.U8();
  if (r.remaining() != kNk) InvalidInput("TokenRequest: blinded_msg must be 256 bytes");
  const ByteView m = r.Take(kNk);
  t.blinded_msg.assign(m.begin(), m.end());
  r.End();
  return t;
}

Bytes ParseTokenResponse(ByteView bytes) {
  RequireSize(bytes, kNk, "TokenResponse");
  return Bytes(bytes.begin(), bytes.end());
}

// ---- Token ----

Bytes TokenInput(ByteView nonce, ByteView challenge_digest, ByteView token_key_id) {
  RequireSize(nonce, kNonceSize, "token nonce");
  RequireSize(challenge_digest, 32, "challenge_digest");
  RequireSize(token_key_id, kNid, "token_key_id");
  return Concat({U16BE(kTokenTypeBlindRsa), nonce, challenge_digest, token_key_id});
}

Bytes Token::TokenInput() const {
  if (token_type != kTokenTypeBlindRsa) InvalidInput("Token: token type must be 0x0002");
  return privacypass::TokenInput(nonce, challenge_digest, token_key_id);
}

Bytes Token::Serialize() const {
  RequireSize(authenticator, kNk, "Token: authenticator");
  return Concat({TokenInput(), authenticator});
}

Token Token::Parse(ByteView bytes) {
  Reader r(bytes, "Token");
  Token t;
  t.token_type = r.U16();
  if (t.token_type != kTokenTypeBlindRsa) InvalidInput("Token: token type must be 0x0002");
  if (r.remaining() != kTokenSize - 2) InvalidInput("Token: must be 354 bytes");
  auto take = [&r](std::size_t n) {
    const ByteView v = r.Take(n);
    return Bytes(v.begin(), v.end());
  };
  t.nonce = take(kNonceSize);
  t.challenge_digest = take(32);
  t.token_key_id = take(kNid);
  t.authenticator = take(kNk);
  r.End();
  return t;
}

// ---- client ----

PendingToken BeginTokenWith(const blind_rsa::PublicKey& pk, ByteView spki, ByteView challenge,
                            ByteView nonce, ByteView salt, ByteView r) {
  if (PssSpki(pk) != Bytes(spki.begin(), spki.end())) InvalidInput("SPKI does not match the key");
  (void)TokenChallenge::Parse(challenge);
  const Bytes key_id = TokenKeyId(spki);
  PendingToken p;
  p.token_input = TokenInput(nonce, hash::Sha256(challenge), key_id);
  RequireSize(salt, blind_rsa::kSaltLen, "PSS salt");
  p.blinding = blind_rsa::BlindWith(pk, p.token_input, salt, r);
  p.request.truncated_token_key_id = key_id.back();
  p.request.blinded_msg = p.blinding.blinded_msg;
  return p;
}

PendingToken BeginToken(const blind_rsa::PublicKey& pk, ByteView spki, ByteView challenge) {
  if (PssSpki(pk) != Bytes(spki.begin(), spki.end())) InvalidInput("SPKI does not match the key");
  (void)TokenChallenge::Parse(challenge);
  const Bytes key_id = TokenKeyId(spki);
  PendingToken p;
  p.token_input = TokenInput(RandomBytes(kNonceSize), hash::Sha256(challenge), key_id);
  p.blinding = blind_rsa::Blind(pk, p.token_input, blind_rsa::Variant::kPssDeterministic);
  p.request.truncated_token_key_id = key_id.back();
  p.request.blinded_msg = p.blinding.blinded_msg;
  return p;
}

Token FinishToken(const blind_rsa::PublicKey& pk, const PendingToken& pending,
                  ByteView token_response) {
  const Bytes blind_sig = ParseTokenResponse(token_response);
  const Bytes sig = blind_rsa::Finalize(pk, pending.token_input, blind_sig, pending.blinding);
  Token t;
  const ByteView in = pending.token_input;
  t.nonce.assign(in.begin() + 2, in.begin() + 34);
  t.challenge_digest.assign(in.begin() + 34, in.begin() + 66);
  t.token_key_id.assign(in.begin() + 66, in.end());
  t.authenticator = sig;
  return t;
}

bool VerifyToken(const blind_rsa::PublicKey& pk, ByteView spki, const Token& token,
                 std::optional<ByteView> challenge) {
  if (token.token_type != kTokenTypeBlindRsa || token.nonce.size() != kNonceSize ||
      token.challenge_digest.size() != 32 || token.authenticator.size() != kNk) {
    return false;
  }
  if (!ConstantTimeEqual(token.token_key_id, TokenKeyId(spki))) return false;
  if (challenge && !ConstantTimeEqual(token.challenge_digest, hash::Sha256(*challenge))) {
    return false;
  }
  return blind_rsa::Verify(pk, token.TokenInput(), token.authenticator, blind_rsa::kSaltLen);
}

// ---- issuer ----

void CheckTokenRequest(const TokenRequest& request, const blind_rsa::PublicKey& pk,
                       ByteView token_key_id) {
  RequireSize(token_key_id, kNid, "token_key_id");
  if (request.truncated_token_key_id != token_key_id.back()) {
    InvalidInput("TokenRequest: truncated_token_key_id names no current token key");
  }
  const Bytes& m = request.blinded_msg;
  const Bytes& n = pk.n();
  if (m.size() != kNk || n.size() != kNk) InvalidInput("TokenRequest: blinded_msg must be 256 bytes");
  // 1 < m: some byte before the last is non-zero, or the last is > 1.
  const bool above_one = std::any_of(m.begin(), m.end() - 1, [](std::uint8_t b) { return b != 0; }) ||
                         m.back() > 1;
  // m < n - 1 (n is odd, so n - 1 only clears the lowest bit).
  Bytes n_minus_1 = n;
  n_minus_1.back() = static_cast<std::uint8_t>(n_minus_1.back() & 0xfe);
  const bool below = std::lexicographical_compare(m.begin(), m.end(), n_minus_1.begin(),
                                                  n_minus_1.end());
  if (!above_one || !below) InvalidInput("TokenRequest: blinded_msg out of range");
}

// ---- batches ----

Bytes EncodeVarint(std::uint64_t v) {
  if (v > kVarintMax) InvalidInput("varint value out of range");
  if (v < 64) return Bytes{static_cast<std::uint8_t>(v)};
  if (v < 16384) {
    Bytes b = U16BE(static_cast<std::uint16_t>(v));
    b[0] |= 0x40;
    return b;
  }
  if (v < (std::uint64_t{1} << 30)) {
    Bytes b = U32BE(static_cast<std::uint32_t>(v));
    b[0] |= 0x80;
    return b;
  }
  Bytes b = U64BE(v);
  b[0] |= 0xc0;
  return b;
}

std::pair<std::uint64_t, std::size_t> DecodeVarint(ByteView bytes) {
  if (bytes.empty()) InvalidInput("varint: truncated");
  const std::size_t len = std::size_t{1} << (bytes[0] >> 6);
  if (bytes.size() < len) InvalidInput("varint: truncated");
  std::uint64_t v = bytes[0] & 0x3fu;
  for (std::size_t i = 1; i < len; ++i) v = (v << 8) | bytes[i];
  return {v, len};
}

Bytes SerializeBatchRequest(const std::vector<TokenRequest>& requests) {
  Bytes body;
  for (const TokenRequest& r : requests) {
    const Bytes b = r.Serialize();
    body.insert(body.end(), b.begin(), b.end());
  }
  return Concat({EncodeVarint(body.size()), body});
}

std::vector<TokenRequest> ParseBatchRequest(ByteView bytes, std::size_t max_count) {
  const auto [length, used] = DecodeVarint(bytes);
  if (length != bytes.size() - used) InvalidInput("BatchTokenRequest: length does not match the body");
  if (length == 0) InvalidInput("BatchTokenRequest: no token request");
  Reader r(bytes.subspan(used), "BatchTokenRequest");
  std::vector<TokenRequest> out;
  while (r.remaining() > 0) {
    if (out.size() >= max_count) {
      InvalidInput("BatchTokenRequest: more than " + std::to_string(max_count) + " requests");
    }
    const ByteView head = r.Take(2);
    if (head[0] != 0x00 || head[1] != 0x02) {
      InvalidInput("BatchTokenRequest: token type must be 0x0002");
    }
    if (r.remaining() < 1 + kNk) InvalidInput("BatchTokenRequest: truncated token request");
    const ByteView rest = r.Take(1 + kNk);
    out.push_back(TokenRequest::Parse(Concat({head, rest})));
  }
  return out;
}

Bytes SerializeBatchResponse(const std::vector<std::optional<Bytes>>& blind_sigs) {
  Bytes body;
  for (const std::optional<Bytes>& s : blind_sigs) {
    if (!s) {
      body.push_back(0x00);
      continue;
    }
    RequireSize(*s, kNk, "blind signature");
    body.push_back(0x01);
    body.push_back(0x00);
    body.push_back(0x02);
    body.insert(body.end(), s->begin(), s->end());
  }
  return Concat({EncodeVarint(body.size()), body});
}

std::vector<std::optional<Bytes>> ParseBatchResponse(ByteView bytes, std::size_t max_count) {
  const auto [length, used] = DecodeVarint(bytes);
  if (length != bytes.size() - used) InvalidInput("BatchTokenResponse: length does not match the body");
  Reader r(bytes.subspan(used), "BatchTokenResponse");
  std::vector<std::optional<Bytes>> out;
  while (r.remaining() > 0) {
    if (out.size() >= max_count) InvalidInput("BatchTokenResponse: too many responses");
    const std::uint8_t present = r.U8();
    if (present == 0x00) {
      out.emplace_back(std::nullopt);
      continue;
    }
    if (present != 0x01) InvalidInput("BatchTokenResponse: presence byte must be 0 or 1");
    if (r.U16() != kTokenTypeBlindRsa) InvalidInput("BatchTokenResponse: token type must be 0x0002");
    const ByteView s = r.Take(kNk);
    out.emplace_back(Bytes(s.begin(), s.end()));
  }
  return out;
}

// ---- directory ----

std::string DirectoryJson(const Directory& d) {
  json::Array keys;
  for (const DirectoryKey& k : d.keys) {
    keys.emplace_back(json::Object{{"token-type", std::int64_t{kTokenTypeBlindRsa}},
                                   {"token-key", EncodeB64urlPadded(k.spki)},
                                   {"not-before", k.not_before}});
  }
  return json::Serialize(json::Value(json::Object{{"issuer-request-uri", d.issuer_request_uri},
                                                  {"token-keys", json::Value(std::move(keys))}}));
}

Directory ParseDirectory(std::string_view text) {
  const json::Value doc = json::Parse(text, json::ParseLimits{1 << 16, 8});
  if (!doc.is_object()) InvalidInput("directory: not a JSON object");
  Directory d;
  const json::Value* uri = doc.find("issuer-request-uri");
  if (uri == nullptr || !uri->is_string() || uri->as_string().empty()) {
    InvalidInput("directory: issuer-request-uri missing");
  }
  d.issuer_request_uri = uri->as_string();
  const json::Value* keys = doc.find("token-keys");
  if (keys == nullptr || !keys->is_array()) InvalidInput("directory: token-keys missing");
  for (const json::Value& k : keys->as_array()) {
    if (!k.is_object()) InvalidInput("directory: token-keys entry is not an object");
    const json::Value* type = k.find("token-type");
    if (type == nullptr || !type->is_int()) InvalidInput("directory: token-type missing");
    if (type->as_int() != kTokenTypeBlindRsa) continue;
    const json::Value* key = k.find("token-key");
    if (key == nullptr || !key->is_string()) InvalidInput("directory: token-key missing");
    DirectoryKey dk;
    dk.spki = DecodeB64urlPadded(key->as_string());
    const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromSpkiDer(dk.spki);
    if (pk.modulus_bits() != 2048) InvalidInput("directory: token type 2 keys are RSA-2048");
    if (PssSpki(pk) != dk.spki) InvalidInput("directory: token-key is not an id-RSASSA-PSS SPKI");
    if (const json::Value* nb = k.find("not-before")) {
      if (!nb->is_int() || nb->as_int() < 0) InvalidInput("directory: not-before must be an integer");
      dk.not_before = nb->as_int();
    }
    d.keys.push_back(std::move(dk));
  }
  return d;
}

// ---- RFC 9577 auth scheme ----

std::string EncodeB64urlPadded(ByteView data) {
  std::string s = b64url::Encode(data);
  while (s.size() % 4 != 0) s += '=';
  return s;
}

Bytes DecodeB64urlPadded(std::string_view text) {
  std::size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  if (pad > 0) {
    if (pad > 2 || text.size() % 4 != 0) InvalidInput("base64url: bad padding");
    text.remove_suffix(pad);
    if (text.size() % 4 != 4 - pad) InvalidInput("base64url: bad padding");
  }
  return b64url::Decode(text);
}

std::string WwwAuthenticate(ByteView challenge, ByteView spki) {
  return "PrivateToken challenge=\"" + EncodeB64urlPadded(challenge) + "\", token-key=\"" +
         EncodeB64urlPadded(spki) + "\"";
}

std::string AuthorizationHeader(ByteView token) {
  return "PrivateToken token=\"" + EncodeB64urlPadded(token) + "\"";
}

Bytes TokenFromAuthorization(std::string_view v) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                          s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  };
  v = trim(v);
  if (v.size() > 4096) InvalidInput("token: too long");
  constexpr std::string_view kScheme = "privatetoken";
  std::string head(v.substr(0, std::min(v.size(), kScheme.size())));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  if (head == kScheme && v.size() > kScheme.size() && (v[kScheme.size()] == ' ')) {
    v = trim(v.substr(kScheme.size()));
    constexpr std::string_view kParam = "token=";
    if (v.substr(0, kParam.size()) != kParam) InvalidInput("token: expected token=");
    v.remove_prefix(kParam.size());
    if (!v.empty() && v.front() == '"') {
      if (v.size() < 2 || v.back() != '"') InvalidInput("token: unterminated quoted value");
      v = v.substr(1, v.size() - 2);
    }
  }
  return DecodeB64urlPadded(v);
}

}  // namespace realdid::privacypass

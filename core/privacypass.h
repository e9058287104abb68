// Privacy Pass wire formats: RFC 9577 (TokenChallenge, Token, the PrivateToken auth scheme) and
// RFC 9578 token type 0x0002 (publicly verifiable, blind RSA 2048, RSABSSA-SHA384-PSS-Deterministic),
// plus the generic batch of draft-ietf-privacypass-batched-tokens as @cloudflare/privacypass-ts
// 0.9.0 implements it. docs/protocol.md section 11 repeats every layout byte for byte.
//
//   TokenChallenge = token_type(2) || u16 len || issuer_name || u8 len || redemption_context (0|32)
//                    || u16 len || origin_info (comma-separated names)
//   TokenRequest   = 0x0002 || truncated_token_key_id(1) || blinded_msg(256)
//   TokenResponse  = blind_sig(256)
//   Token          = 0x0002 || nonce(32) || challenge_digest(32) || token_key_id(32) || authenticator(256)
//                    (everything before the authenticator is the token_input that is signed)
//   token_key_id   = SHA-256(SubjectPublicKeyInfo with id-RSASSA-PSS, SHA-384, MGF1-SHA-384, 48)
//   BatchTokenRequest  = varint(total length) || TokenRequest*            (QUIC varint, RFC 9000 16)
//   BatchTokenResponse = varint(total length) || (0x01 || token_type(2) || blind_sig(256) | 0x00)*
//
// Parsers are strict: exact lengths, no trailing bytes, only token type 0x0002, a batch length that
// matches the body exactly, at least one and at most `max_count` requests. Everything refused is
// Error(kInvalidInput) with a detail naming the rule (never a secret).
// Security contract: the client's nonce, salt and blinding factor come from the OpenSSL CSPRNG in
// BeginToken (BeginTokenWith exists for the published vectors); the blinding stays a Secret.
// VerifyToken checks the key id, the challenge digest (when given) and the RSASSA-PSS signature.
// Thread-safety: pure functions (apart from drawing random values).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/blind_rsa.h"
#include "core/bytes.h"

namespace realdid::privacypass {

inline constexpr std::uint16_t kTokenTypeBlindRsa = 0x0002;
inline constexpr std::size_t kNk = 256;  // RSA-2048 modulus length
inline constexpr std::size_t kNid = 32;  // token key id length
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kTokenRequestSize = 2 + 1 + kNk;
inline constexpr std::size_t kTokenInputSize = 2 + kNonceSize + 32 + kNid;
inline constexpr std::size_t kTokenSize = kTokenInputSize + kNk;
inline constexpr std::size_t kRedemptionContextSize = 32;

inline constexpr std::string_view kMediaTokenRequest = "application/private-token-request";
inline constexpr std::string_view kMediaTokenResponse = "application/private-token-response";
inline constexpr std::string_view kMediaBatchRequest =
    "application/private-token-generic-batch-request";
inline constexpr std::string_view kMediaBatchResponse =
    "application/private-token-generic-batch-response";
inline constexpr std::string_view kMediaDirectory = "application/private-token-issuer-directory";
inline constexpr std::string_view kDirectoryPath = "/.well-known/private-token-issuer-directory";

// ---- RFC 9577 TokenChallenge ----
struct TokenChallenge {
  std::uint16_t token_type = kTokenTypeBlindRsa;
  std::string issuer_name;       // 1..65535 printable ASCII bytes (a host name, maybe with port)
  Bytes redemption_context;      // empty or 32 bytes
  std::vector<std::string> origin_info;  // each non-empty printable ASCII without ','

  Bytes Serialize() const;
  static TokenChallenge Parse(ByteView bytes);
};

// ---- keys ----
// The id-RSASSA-PSS SubjectPublicKeyInfo (RFC 9578 6.5) of a 2048-bit key with e = 65537.
Bytes PssSpki(const blind_rsa::PublicKey& pk);
// SHA-256 of the SPKI.
Bytes TokenKeyId(ByteView spki);

// ---- RFC 9578 TokenRequest / TokenResponse ----
struct TokenRequest {
  std::uint8_t truncated_token_key_id = 0;
  Bytes blinded_msg;  // kNk bytes

  Bytes Serialize() const;
  static TokenRequest Parse(ByteView bytes);
};
// TokenResponse: exactly kNk bytes (the blind signature).
Bytes ParseTokenResponse(ByteView bytes);

// ---- Token ----
struct Token {
  std::uint16_t token_type = kTokenTypeBlindRsa;
  Bytes nonce;             // 32
  Bytes challenge_digest;  // 32: SHA-256(TokenChallenge)
  Bytes token_key_id;      // 32
  Bytes authenticator;     // kNk

  Bytes TokenInput() const;  // the signed prefix (kTokenInputSize bytes)
  Bytes Serialize() const;
  static Token Parse(ByteView bytes);
};

// token_input = 0x0002 || nonce || challenge_digest || token_key_id.
Bytes TokenInput(ByteView nonce, ByteView challenge_digest, ByteView token_key_id);

// ---- client side ----
struct PendingToken {
  Bytes token_input;
  blind_rsa::Blinding blinding;
  TokenRequest request;
};
// Fresh nonce, salt and blinding factor from the CSPRNG. pk must be the key whose SPKI is spki.
PendingToken BeginToken(const blind_rsa::PublicKey& pk, ByteView spki, ByteView challenge);
// Deterministic form for known-answer tests: the given nonce (32), salt (48) and r (kNk).
PendingToken BeginTokenWith(const blind_rsa::PublicKey& pk, ByteView spki, ByteView challenge,
                            ByteView nonce, ByteView salt, ByteView r);
// Unblinds the TokenResponse and verifies the result. Error(kInvalidInput) for a malformed
// response, Error(kCryptoFailure) when it does not verify.
Token FinishToken(const blind_rsa::PublicKey& pk, const PendingToken& pending,
                  ByteView token_response);

// The origin's check: token type, token_key_id == TokenKeyId(spki), challenge digest (when
// `challenge` is given: SHA-256 of it must match) and the RSASSA-PSS signature over token_input.
// Returns false for any mismatch; never throws for bad tokens.
bool VerifyToken(const blind_rsa::PublicKey& pk, ByteView spki, const Token& token,
                 std::optional<ByteView> challenge = std::nullopt);

// ---- issuer side ----
// The issuer's request checks (RFC 9578 5.2 / 6.2): type, truncated key id == last byte of
// token_key_id, blinded_msg of kNk bytes with 1 < m < n - 1. Error(kInvalidInput) otherwise.
void CheckTokenRequest(const TokenRequest& request, const blind_rsa::PublicKey& pk,
                       ByteView token_key_id);

// ---- batches (draft-ietf-privacypass-batched-tokens, generic batch) ----
Bytes EncodeVarint(std::uint64_t value);  // minimal QUIC varint; values < 2^62
// Decodes one varint at the start of `bytes`: (value, bytes used). Non-minimal forms are valid
// (RFC 9000 16). Error(kInvalidInput) when truncated.
std::pair<std::uint64_t, std::size_t> DecodeVarint(ByteView bytes);

Bytes SerializeBatchRequest(const std::vector<TokenRequest>& requests);
std::vector<TokenRequest> ParseBatchRequest(ByteView bytes, std::size_t max_count);
// nullopt entries are "absent" (0x00); present ones are blind signatures of kNk bytes.
Bytes SerializeBatchResponse(const std::vector<std::optional<Bytes>>& blind_sigs);
std::vector<std::optional<Bytes>> ParseBatchResponse(ByteView bytes, std::size_t max_count);

// ---- issuer directory (RFC 9578 4) ----
struct DirectoryKey {
  Bytes spki;               // id-RSASSA-PSS SPKI
  std::int64_t not_before = 0;  // Unix seconds
};
struct Directory {
  std::string issuer_request_uri;
  std::vector<DirectoryKey> keys;  // token type 2 keys only, in document order
};
// {"issuer-request-uri":...,"token-keys":[{"token-type":2,"token-key":<base64url SPKI, padded>,
//  "not-before":<int>},...]} (canonical JSON, keys in the given order).
std::string DirectoryJson(const Directory& directory);
// Strict JSON; entries of other token types are skipped; token-key may be padded or unpadded
// base64url and must be an SPKI of a 2048-bit key; unknown members are ignored (RFC 9578 allows
// extensions).
Directory ParseDirectory(std::string_view json);

// ---- RFC 9577 HTTP authentication scheme ----
// `PrivateToken challenge="<b64url>", token-key="<b64url>"` (padded base64url, as RFC 9577 2.1).
std::string WwwAuthenticate(ByteView challenge, ByteView spki);
// `PrivateToken token="<b64url>"`.
std::string AuthorizationHeader(ByteView token);
// The token bytes of an Authorization value `PrivateToken token=...` (quoted or not, padded or
// not), or of a bare base64url token. Error(kInvalidInput) otherwise.
Bytes TokenFromAuthorization(std::string_view value);
// base64url with or without correct '=' padding (RFC 9577/9578 use the padded form).
Bytes DecodeB64urlPadded(std::string_view text);
std::string EncodeB64urlPadded(ByteView data);

}  // namespace realdid::privacypass

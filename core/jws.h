// Compact JWS (RFC 7515) for the two algorithms of the protocol: PS384 (RSASSA-PSS, SHA-384,
// MGF1-SHA-384, 48-byte salt; the issuer's blind-signed credentials) and ES256 (ECDSA P-256 with
// SHA-256, signature = raw r || s, 32 bytes each; holder keys and KB-JWTs).
//
// Parsing is strict: exactly three dot-separated parts, each the canonical unpadded base64url of its
// bytes, the header an object under the strict JSON parser (core/json.h). Verification refuses
// `alg: none` and any algorithm other than the one the caller expects, refuses `crit`, and (by
// default) refuses key-carrying headers (`jwk`, `jku`, `x5u`, `x5c`): relying parties resolve `kid`
// only within a pinned key set, never from the token itself.
// Thread-safety: PublicKey/PrivateKey are immutable after construction and may be shared between
// threads for Verify/Sign (OpenSSL EVP_PKEY is safe for concurrent read-only use); functions are pure.
// Errors: Error(kInvalidInput) for malformed input and failed signatures on verify; Error(kInternal)
// if OpenSSL fails while signing. Private keys never appear in an error text.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/json.h"

struct evp_pkey_st;

namespace realdid::jws {

enum class Alg { kPS384, kES256 };
std::string_view AlgName(Alg alg) noexcept;  // "PS384" / "ES256"

struct PkeyFree {
  void operator()(evp_pkey_st* p) const noexcept;
};
using PkeyPtr = std::unique_ptr<evp_pkey_st, PkeyFree>;

// A public verification key: RSA (n, e) or a P-256 point (checked to lie on the curve).
class PublicKey {
 public:
  static PublicKey Rsa(ByteView n, ByteView e);
  static PublicKey EcP256(ByteView x, ByteView y);
  // From an RSA or EC P-256 public JWK (private members refused).
  static PublicKey FromJwk(const json::Value& jwk);
  // Takes a reference on an existing OpenSSL key (RSA or P-256 EC); public half only is used.
  static PublicKey FromEvp(const evp_pkey_st* pkey);

  bool is_rsa() const noexcept { return rsa_; }
  json::Value Jwk() const;  // the public JWK in jwk::RsaPublic / jwk::EcP256Public form
  const evp_pkey_st* evp() const noexcept { return pkey_.get(); }

 private:
  PublicKey(PkeyPtr p, bool rsa) : pkey_(std::move(p)), rsa_(rsa) {}
  std::shared_ptr<evp_pkey_st> pkey_;
  bool rsa_ = false;
};

// A host-side signing key (tests, the wallet's holder key). The issuer's key lives in the HSM and
// never passes through here.
class PrivateKey {
 public:
  static PrivateKey GenerateEcP256();
  static PrivateKey GenerateRsa(int bits);
  // P-256 private scalar d (32 bytes, big-endian); for deterministic test keys.
  static PrivateKey EcP256FromScalar(ByteView d);
  // Takes ownership of an OpenSSL key (RSA or P-256 EC private key).
  static PrivateKey FromEvp(PkeyPtr pkey);

  bool is_rsa() const noexcept { return rsa_; }
  PublicKey Public() const;
  evp_pkey_st* evp() const noexcept { return pkey_.get(); }

 private:
  PrivateKey(PkeyPtr p, bool rsa) : pkey_(std::move(p)), rsa_(rsa) {}
  std::shared_ptr<evp_pkey_st> pkey_;
  bool rsa_ = false;
};

// base64url(header_json) "." base64url(payload)
std::string SigningInput(std::string_view header_json, ByteView payload);

// Raw JWS signature over a signing input. ES256 output is r || s (64 bytes); PS384 is modulus size.
Bytes SignRaw(const PrivateKey& key, Alg alg, std::string_view signing_input);
// true iff the signature is valid; never throws for a wrong signature (throws for a key/alg mismatch).
bool VerifyRaw(const PublicKey& key, Alg alg, std::string_view signing_input, ByteView signature);

// Convert between JOSE r||s (64 bytes) and DER ECDSA-Sig-Value for OpenSSL.
Bytes EcdsaRawToDer(ByteView raw);
Bytes EcdsaDerToRaw(ByteView der);

// A parsed compact JWS. header_b64 / payload_b64 are the exact transmitted parts.
struct Compact {
  std::string header_b64;
  std::string payload_b64;
  std::string signature_b64;
  std::string header_json;  // decoded header bytes (UTF-8 JSON text)
  json::Value header;
  Bytes payload;
  Bytes signature;
  std::string signing_input() const { return header_b64 + "." + payload_b64; }
};

// Strict compact parser (no signature check).
Compact ParseCompact(std::string_view compact);

// Sign: header is serialized canonically (json::Serialize) and must contain "alg" equal to alg.
std::string Sign(const PrivateKey& key, Alg alg, const json::Value& header, ByteView payload);

struct VerifyOptions {
  bool refuse_key_headers = true;  // refuse jwk / jku / x5u / x5c members in the header
  std::string expected_typ;        // if non-empty, header "typ" must equal it
};

// Parse + check header alg == expected alg (never "none") + verify. Throws Error(kInvalidInput)
// "JWS: ..." on any failure; returns the parsed token on success.
Compact Verify(std::string_view compact, const PublicKey& key, Alg alg,
               const VerifyOptions& options = {});
// Verify on an already parsed compact JWS (the same checks, without parsing it again).
void VerifyParsed(const Compact& c, const PublicKey& key, Alg alg, const VerifyOptions& options = {});

}  // namespace realdid::jws

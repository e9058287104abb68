// RSA blind signatures, RFC 9474: RSABSSA-SHA384-PSS-{Deterministic,Randomized} and the PSSZERO
// variants (salt length 0). The product profile is RSABSSA-SHA384-PSS-Deterministic: the finished
// signature is an ordinary RSASSA-PSS signature (SHA-384, MGF1-SHA-384, 48-byte salt), i.e. JWS PS384.
//
// Roles: the wallet calls Prepare/Blind/Finalize; the authority recomputes a blinded message from the
// values a wallet opened with BlindWith (byte for byte) and signs the kept one in the HSM (raw RSA,
// CKM_RSA_X_509), then checks s^e mod n == blinded_msg with CheckBlindSignature. Relying parties call
// Verify. BlindSignSoftwareForTesting exists only for tests, benchmarks and interop checks.
//
// Security contract:
//  - EMSA-PSS-ENCODE (RFC 8017 9.1.1, emBits = modBits - 1) uses the salt the caller supplies, so a
//    blinding is fully determined by (key, input_msg, salt, r) and an opening can be recomputed.
//  - BlindWith refuses r outside 1 < r < n, r not coprime with n, a message representative that is not
//    < n or not coprime with n, a salt whose length is neither 0 nor 48, and any r not exactly
//    modulus_len bytes. Every byte string in and out has its exact length (modulus_len = k).
//  - The blinding factor r, its inverse and the salt are Secrets: for the candidate a wallet keeps,
//    they are what makes the signature unlinkable to its issuance.
//  - Finalize verifies the unblinded signature through OpenSSL's own RSASSA-PSS verifier
//    (EVP_PKEY_verify), an implementation path independent of the encoder here.
// Errors: Error(kInvalidInput) for malformed or out-of-range input, Error(kCryptoFailure) when a
// signature does not check, Error(kInternal) when OpenSSL fails.
// Thread-safety: PublicKey and PrivateKeyForTesting are immutable after construction; all functions
// are pure (except for drawing random values) and safe to call concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace realdid::blind_rsa {

inline constexpr std::size_t kHashLen = 48;    // SHA-384
inline constexpr std::size_t kSaltLen = 48;    // PSS variants; PSSZERO variants use 0
inline constexpr std::size_t kPrefixLen = 32;  // Randomized variants' message prefix (RFC 9474 4.1)

enum class Variant {
  kPssDeterministic,      // RSABSSA-SHA384-PSS-Deterministic (the product profile)
  kPssRandomized,         // RSABSSA-SHA384-PSS-Randomized
  kPssZeroDeterministic,  // RSABSSA-SHA384-PSSZERO-Deterministic
  kPssZeroRandomized,     // RSABSSA-SHA384-PSSZERO-Randomized
};
std::size_t SaltLength(Variant v) noexcept;
bool IsRandomized(Variant v) noexcept;

// Which public exponents a key may have. The product profile accepts only e = 65537; kAnyOdd exists
// for foreign test vectors (it still requires 3 <= e < n, e odd).
enum class ExponentPolicy { kOnly65537, kAnyOdd };

// An RSA public key of 2048, 3072 or 4096 bits.
class PublicKey {
 public:
  // n and e big-endian unsigned (leading zero bytes are ignored).
  static PublicKey FromComponents(ByteView n, ByteView e,
                                  ExponentPolicy policy = ExponentPolicy::kOnly65537);
  // DER SubjectPublicKeyInfo with rsaEncryption or id-RSASSA-PSS (as in RFC 9578 token keys).
  static PublicKey FromSpkiDer(ByteView spki, ExponentPolicy policy = ExponentPolicy::kOnly65537);

  const Bytes& n() const noexcept { return n_; }  // exactly modulus_len() bytes
  const Bytes& e() const noexcept { return e_; }  // no leading zero bytes
  std::size_t modulus_len() const noexcept { return n_.size(); }
  std::size_t modulus_bits() const noexcept { return bits_; }

  // n, e and n's Montgomery context as OpenSSL objects, built once per key and shared (immutable)
  // by its copies; opaque outside core/blind_rsa.cc.
  struct Arith;
  const Arith& arith() const noexcept { return *arith_; }

 private:
  PublicKey(Bytes n, Bytes e, std::size_t bits);
  Bytes n_;
  Bytes e_;
  std::size_t bits_ = 0;
  std::shared_ptr<const Arith> arith_;
};

// RFC 9474 4.1 Prepare: the deterministic variants return msg; the randomized ones prepend 32 fresh
// random bytes. PrepareWithPrefix is the deterministic form for a given 32-byte prefix (vectors).
Bytes Prepare(ByteView msg, Variant v);
Bytes PrepareWithPrefix(ByteView prefix, ByteView msg);

// EMSA-PSS-ENCODE (RFC 8017 9.1.1) with SHA-384 and MGF1-SHA-384, the given salt, emBits.
// The output has ceil(em_bits / 8) bytes.
Bytes EmsaPssEncodeSha384(ByteView msg, ByteView salt, std::size_t em_bits);

// Everything a wallet reveals when it opens a candidate, plus the blinded message.
struct Blinding {
  Secret salt;       // 48 bytes (PSS) or empty (PSSZERO)
  Secret r;          // blinding factor, modulus_len bytes big-endian, 1 < r < n, gcd(r, n) = 1
  Secret inv;        // r^-1 mod n, modulus_len bytes big-endian
  Bytes blinded_msg;  // m * r^e mod n, modulus_len bytes
};

// RFC 9474 4.2 Blind with a fresh random salt (of SaltLength(v) bytes) and a fresh random r.
Blinding Blind(const PublicKey& pk, ByteView input_msg, Variant v);
// Deterministic Blind: the blinding for exactly these values (salt of 0 or 48 bytes; r of modulus_len
// bytes). The authority uses it to recompute an opened candidate byte for byte.
Blinding BlindWith(const PublicKey& pk, ByteView input_msg, ByteView salt, ByteView r);

// The blinded message m * r^e mod n of BlindWith, byte for byte, without r^-1 and without the
// coprimality check: for a verifier that rebuilds many openings and checks their coprimality with
// n once, on the product, with AllCoprimeWithModulus. Same range checks and errors as BlindWith.
Bytes BlindedMessage(const PublicKey& pk, ByteView input_msg, ByteView salt, ByteView r);

// True iff every value (each exactly modulus_len bytes and < n, else kInvalidInput) is coprime
// with n. One inversion of their product: a prime factor of n divides the product iff it divides
// one of the values. For public values (blinded messages).
bool AllCoprimeWithModulus(const PublicKey& pk, const std::vector<ByteView>& values);

// Checks a blind signature returned by the signer: exactly modulus_len bytes, < n, and
// blind_sig^e mod n == blinded_msg. Throws Error(kCryptoFailure) if it does not hold,
// Error(kInvalidInput) on malformed lengths.
void CheckBlindSignature(const PublicKey& pk, ByteView blinded_msg, ByteView blind_sig);

// RFC 9474 4.4 Finalize: unblind with inv and verify as RSASSA-PSS with the given salt length.
// Throws Error(kInvalidInput) on bad lengths / blind_sig >= n, Error(kCryptoFailure) if the result
// does not verify.
Bytes Finalize(const PublicKey& pk, ByteView input_msg, ByteView blind_sig, const Secret& inv,
               std::size_t salt_len);
inline Bytes Finalize(const PublicKey& pk, ByteView input_msg, ByteView blind_sig,
                      const Blinding& b) {
  return Finalize(pk, input_msg, blind_sig, b.inv, b.salt.size());
}

// RSASSA-PSS-VERIFY (SHA-384, MGF1-SHA-384, the given salt length) through OpenSSL EVP_PKEY_verify.
// Returns false for any invalid signature (including a wrong length); never throws for bad input.
bool Verify(const PublicKey& pk, ByteView input_msg, ByteView sig, std::size_t salt_len = kSaltLen);

// A software RSA private key. FOR TESTS, BENCHMARKS AND INTEROP CHECKS ONLY: production keys live in
// the HSM and sign there.
class PrivateKeyForTesting {
 public:
  static PrivateKeyForTesting FromComponents(ByteView n, ByteView e, ByteView d,
                                             ExponentPolicy policy = ExponentPolicy::kOnly65537);
  // PEM "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY" (PKCS#1).
  static PrivateKeyForTesting FromPem(std::string_view pem,
                                      ExponentPolicy policy = ExponentPolicy::kOnly65537);
  // A fresh key of 2048, 3072 or 4096 bits with e = 65537.
  static PrivateKeyForTesting Generate(std::size_t bits);

  const PublicKey& public_key() const noexcept { return pk_; }
  const Secret& d() const noexcept { return d_; }  // modulus_len bytes big-endian

 private:
  PrivateKeyForTesting(PublicKey pk, Secret d) : pk_(std::move(pk)), d_(std::move(d)) {}
  PublicKey pk_;
  Secret d_;
};

// The raw RSA private operation blinded_msg^d mod n (what the HSM's CKM_RSA_X_509 computes), followed
// by the s^e mod n == blinded_msg check. FOR TESTS, BENCHMARKS AND INTEROP CHECKS ONLY.
// Refuses blinded_msg of the wrong length or >= n (kInvalidInput).
Bytes BlindSignSoftwareForTesting(const PrivateKeyForTesting& sk, ByteView blinded_msg);

}  // namespace realdid::blind_rsa

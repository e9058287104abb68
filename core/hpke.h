// HPKE, RFC 9180, base mode only, one fixed suite: DHKEM(P-256, HKDF-SHA256) (0x0010),
// HKDF-SHA256 (0x0001), AES-128-GCM (0x0001). Single-shot Seal/Open (sequence number 0).
//
// Used for the escrow and trace ciphertexts (core/escrow.h). The escrow private key lives in an HSM:
// Decap/Open accept the ECDH step from outside (EcdhFunction: given the validated ephemeral public
// key, return the 32-byte x-coordinate of skR * pkE, which is what PKCS#11 CKM_ECDH1_DERIVE with
// CKD_NULL yields); the rest of HPKE runs here.
//
// Security contract:
//  - DeserializePublicKey accepts only a 65-byte uncompressed SEC1 point (0x04 || x || y) with
//    x, y < p that lies on P-256 and is not the point at infinity; anything else is
//    Error(kInvalidInput). Every Decap/Open validates enc that way before any ECDH.
//  - Encap with a caller-supplied ikmE is deterministic (so an opening can be recomputed byte for
//    byte); ikmE must have at least 32 bytes. Encap without ikmE draws 32 fresh random bytes.
//  - dh, shared_secret, secret, key, base_nonce, exporter_secret and private keys are Secrets.
//  - Open failures (wrong key, tampered enc/ct/info/aad) are Error(kCryptoFailure) "open failed",
//    without further detail; a malformed enc is Error(kInvalidInput).
// Thread-safety: pure functions; PublicKey is an immutable value.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "core/bytes.h"

namespace realdid::hpke {

inline constexpr std::uint16_t kKemId = 0x0010;
inline constexpr std::uint16_t kKdfId = 0x0001;
inline constexpr std::uint16_t kAeadId = 0x0001;
inline constexpr std::size_t kNsecret = 32;  // KEM shared secret
inline constexpr std::size_t kNenc = 65;     // encapsulated key (uncompressed point)
inline constexpr std::size_t kNpk = 65;
inline constexpr std::size_t kNsk = 32;
inline constexpr std::size_t kNh = 32;       // HKDF-SHA256 output
inline constexpr std::size_t kNk = 16;       // AES-128 key
inline constexpr std::size_t kNn = 12;       // GCM nonce
inline constexpr std::size_t kNt = 16;       // GCM tag
inline constexpr std::size_t kMaxInfo = 1024;  // our own bound on info (RFC 9180 requires >= 64)

// "KEM" || I2OSP(kem_id, 2) and "HPKE" || kem_id || kdf_id || aead_id.
Bytes KemSuiteId();
Bytes HpkeSuiteId();

// RFC 9180 section 4: LabeledExtract(salt, label, ikm) and LabeledExpand(prk, label, info, L),
// with the "HPKE-v1" prefix and the given suite_id.
Secret LabeledExtract(ByteView suite_id, ByteView salt, std::string_view label, ByteView ikm);
Secret LabeledExpand(ByteView suite_id, const Secret& prk, std::string_view label, ByteView info,
                     std::size_t length);

// A validated P-256 public key (see DeserializePublicKey).
class PublicKey {
 public:
  const Bytes& bytes() const noexcept { return point_; }  // SerializePublicKey: 65 bytes
  friend bool operator==(const PublicKey&, const PublicKey&) = default;

 private:
  friend PublicKey DeserializePublicKey(ByteView);
  friend PublicKey PublicKeyFromPrivate(const Secret&);
  explicit PublicKey(Bytes point) : point_(std::move(point)) {}
  Bytes point_;
};

PublicKey DeserializePublicKey(ByteView encoded);
inline Bytes SerializePublicKey(const PublicKey& pk) { return pk.bytes(); }

struct KeyPair {
  Secret private_key;  // 32 bytes big-endian scalar, 0 < sk < order
  PublicKey public_key;
};

// RFC 9180 7.1.3 DeriveKeyPair for P-256 (bitmask 0xff, counter loop). ikm >= 32 bytes.
KeyPair DeriveKeyPair(ByteView ikm);
// The public key of a 32-byte private scalar (refuses 0 and >= order).
PublicKey PublicKeyFromPrivate(const Secret& sk);
// Fresh key pair (for tests and tools; production escrow keys are generated in the HSM).
KeyPair GenerateKeyPair();

// ECDH: the x-coordinate of sk * pk (32 bytes).
Secret Dh(const Secret& sk, const PublicKey& pk);
// Externally supplied ECDH: returns the 32-byte x-coordinate of skR * pkE.
using EcdhFunction = std::function<Secret(const PublicKey& pk_e)>;

struct Encapsulation {
  Secret shared_secret;  // Nsecret bytes
  Bytes enc;             // Nenc bytes
};
// ExtractAndExpand(dh, enc || pkRm) of DHKEM.
Secret ExtractAndExpand(const Secret& dh, ByteView kem_context);
Encapsulation Encap(const PublicKey& pk_r, ByteView ikm_e);
Encapsulation Encap(const PublicKey& pk_r);
Secret Decap(ByteView enc, const Secret& sk_r);
Secret Decap(ByteView enc, const PublicKey& pk_r, const EcdhFunction& ecdh);

// Base-mode key schedule (RFC 9180 5.1) for this suite.
struct Context {
  Bytes key_schedule_context;  // mode || psk_id_hash || info_hash (65 bytes)
  Secret secret;
  Secret key;              // Nk
  Secret base_nonce;       // Nn
  Secret exporter_secret;  // Nh
};
Context KeySchedule(const Secret& shared_secret, ByteView info);

// Single-shot AEAD with sequence number 0 (nonce = base_nonce).
Bytes SealWithContext(const Context& ctx, ByteView aad, ByteView pt);
Bytes OpenWithContext(const Context& ctx, ByteView aad, ByteView ct);

struct Sealed {
  Bytes enc;  // 65 bytes
  Bytes ct;   // pt length + 16
};
// SealBase / OpenBase single-shot. Seal with a supplied ikmE is deterministic.
Sealed Seal(const PublicKey& pk_r, ByteView info, ByteView aad, ByteView pt, ByteView ikm_e);
Sealed Seal(const PublicKey& pk_r, ByteView info, ByteView aad, ByteView pt);
Secret Open(ByteView enc, ByteView ct, const Secret& sk_r, ByteView info, ByteView aad);
Secret Open(ByteView enc, ByteView ct, const PublicKey& pk_r, const EcdhFunction& ecdh,
            ByteView info, ByteView aad);

}  // namespace realdid::hpke

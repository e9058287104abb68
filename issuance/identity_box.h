// Envelope encryption of a person's identity (name, ID number) at rest (BRIEF section 6).
//
// identity_ct = AES-256-GCM on the host under a fresh per-person 32-byte data key:
//               iv (12, random) || ciphertext || tag (16), aad = id_lookup; the plaintext is the
//               canonical JSON {"name":<name>,"id_number":<id>}.
// data_key_ct = the data key encrypted by the HSM's data-wrapping key (hsm::Token::AesGcmEncrypt,
//               CKM_AES_GCM), aad = id_lookup.
// Security contract: the data key and the plaintext live only in Secrets; a wrong key, aad or any
// altered byte is Error(kCryptoFailure) without detail.
// Thread-safety: pure functions (the HSM Token is thread-safe).
#pragma once

#include "core/bytes.h"
#include "hsm/token.h"

namespace realdid::issuance {

struct Identity {
  Secret name;
  Secret id_number;
};

struct SealedIdentity {
  Bytes identity_ct;
  Bytes data_key_ct;
};

SealedIdentity SealIdentity(hsm::Token& token, const hsm::KeyRef& data_wrapping_key,
                            const Identity& identity, ByteView id_lookup);
Identity OpenIdentity(hsm::Token& token, const hsm::KeyRef& data_wrapping_key,
                      const SealedIdentity& sealed, ByteView id_lookup);

// Host AES-256-GCM (exposed for tests): iv || ct || tag.
Bytes AesGcm256Seal(const Secret& key, const Secret& plaintext, ByteView aad);
Secret AesGcm256Open(const Secret& key, ByteView sealed, ByteView aad);

}  // namespace realdid::issuance

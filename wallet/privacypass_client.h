// The holder's side of Privacy Pass issuance (docs/protocol.md 11): the RealDID-Attestation header
// for a request body, the issuer directory, and obtaining tokens (one, or a generic batch) for a
// TokenChallenge from the authority.
//
// The attestation is a presentation of the wallet's credential with NO disclosures and a KB-JWT
// (aud = the credential's iss, nonce = base64url(SHA-256(body))), so the authority learns only
// that a valid credential asks and which revocation id it has (for the daily quota); it never
// learns the tokens (blind RSA).
// Security contract: every token is unblinded and verified (RSASSA-PSS under the directory key)
// before it is returned. The directory is fetched without identifying the holder.
// Errors: ServerRefusal for an error answer (status and problem), Error(kInvalidInput) for a
// malformed answer, kCryptoFailure for a signature that does not verify.
// Thread-safety: one thread at a time per HttpsClient.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/blind_rsa.h"
#include "core/bytes.h"
#include "core/privacypass.h"
#include "wallet/https_client.h"
#include "wallet/wallet_file.h"

namespace realdid::wallet {

// The RealDID-Attestation header value for this request body.
std::string PrivacyPassAttestation(const WalletFile& wallet, ByteView body, std::int64_t now);

struct TokenIssuer {
  privacypass::Directory directory;
  Bytes spki;                 // the key tokens are requested under
  blind_rsa::PublicKey pk;
  std::string request_path;   // the path of issuer-request-uri (sent to the client's own host)
};
// GET the directory and pick the key with the latest not-before <= now.
TokenIssuer FetchTokenIssuer(HttpsClient& authority, std::int64_t now);

// Obtains `count` tokens (1: application/private-token-request; more: one generic batch).
std::vector<privacypass::Token> FetchTokens(HttpsClient& authority, const WalletFile& wallet,
                                            const TokenIssuer& issuer, ByteView challenge,
                                            std::size_t count, std::int64_t now);

}  // namespace realdid::wallet

// Benchmark helpers: the recorded real issuance (docs/examples/issuance-transcript.jsonl, K = 32,
// RSA-3072) loaded into the authority's reveal-check inputs, and the cryptographic floor of one
// opening timed primitive by primitive with OpenSSL (keys set up once). Benchmarks only.
#pragma once

#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/candidate.h"
#include "issuance/reveal_check.h"

namespace realdid::bench {

struct OwnedOpening {
  std::size_t index = 0;
  Bytes holder_x, holder_y, jti;
  std::array<Bytes, credential::kNumDisclosed> salts;
  Bytes pss_salt, r, escrow_ikm, trace_ikm;
};

struct Transcript {
  candidate::Context context;
  std::size_t k = 0;
  Bytes commit_blob;  // k x (blinded_msg || trace)
  std::vector<OwnedOpening> openings;
};

Transcript LoadTranscript(const std::string& path);

// Runs issuance::FindCheatInOpenings on the transcript; true if no cheat is found.
bool CheckAllOpenings(const Transcript& t);

struct FloorTimes {
  double rsa_public_ms = 0;   // x^e mod n, the session's RSA key (RSA_public_encrypt, no padding)
  double ec_base_mul_ms = 0;  // P-256 k*G (an HPKE ephemeral key)
  double ecdh_ms = 0;         // P-256 ECDH with the escrow public key (EVP_PKEY_derive)
};
FloorTimes TimeFloor(const Transcript& t, long iterations);

}  // namespace realdid::bench

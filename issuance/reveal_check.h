// The authority's reveal check of fair blind issuance (BRIEF section 4 steps 4-5): given the stored
// commit and the wallet's openings of every candidate except the challenged one, find the first
// proven cheat, if any. Pure (no I/O, no HSM, no database): the service calls it inside Reveal, the
// benchmarks (bench/reveal_bench) call it on a recorded transcript.
//
// What it checks, in this order (the first failure is the reason):
//  1. no repeated blinded message and no repeated trace enc across all k committed candidates;
//  2. per opening, no repeated r, pss_salt, jti, holder key or escrow enc across the openings;
//  3. per opening, candidate::Rebuild (the one derivation, core/candidate.h) rebuilds the committed
//     blinded message and the committed trace byte for byte;
//  4. every opened blinded message is coprime with n (so are its message representative and r):
//     one inversion of their product instead of one per candidate.
// Openings must be structurally valid already (index in range, ascending, not j, exact sizes): the
// service refuses malformed ones with 400 before calling this.
//
// Thread-safety: pure; safe to call concurrently. Security: the returned reason names the candidate
// index and the rule only, never an opened value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/candidate.h"

namespace realdid::issuance {

struct IndexedOpening {
  std::size_t index = 0;
  candidate::Opening opening;  // views into the caller's storage
};

// commit_blob: k chunks of (blinded_msg (modulus length) || trace (161 bytes)). Throws
// Error(kInternal) if the blob does not have that size; Error(kInternal) for OpenSSL failures
// unrelated to the input. Returns the reason of the first cheat found, or nullopt.
std::optional<std::string> FindCheatInOpenings(const candidate::Context& context,
                                               ByteView commit_blob, std::size_t k,
                                               const std::vector<IndexedOpening>& openings);

}  // namespace realdid::issuance

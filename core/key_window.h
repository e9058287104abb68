// The rule that picks the one active blind-signing key (docs/protocol.md 5.0 and 5.6), shared by
// the authority (which signs with it) and the wallet (which refuses a session under any other).
//
// Among the keys whose validity window [nbf, exp) contains `now`, the active key is the one whose
// window started last; a tie for the latest start means there is no active key (two keys that
// could both be "the" key would let an issuer choose per person). Key is any type with integer
// members `nbf` and `exp` (Unix seconds).
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <span>

namespace realdid::key_window {

template <typename Key>
const Key* Active(std::span<const Key> keys, std::int64_t now) noexcept {
  const Key* best = nullptr;
  bool tie = false;
  for (const Key& k : keys) {
    if (k.nbf > now || now >= k.exp) continue;
    if (best == nullptr || k.nbf > best->nbf) {
      best = &k;
      tie = false;
    } else if (k.nbf == best->nbf) {
      tie = true;
    }
  }
  return tie ? nullptr : best;
}

}  // namespace realdid::key_window

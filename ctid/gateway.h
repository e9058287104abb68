// The CTID adapter interface: the authority asks the national real-name platform (CTID) whether a
// single-use CTID token, bound to the authority's nonce, was issued for this name and ID number.
//
// Implementations: HttpGateway (ctid/http_gateway.h, HTTPS with mutual TLS to the real gateway or to
// the ctid-sim simulator). Wire format: docs/protocol.md section 6.
// Security contract: name, ID number and token are identity data / credentials. They never appear in
// an exception text, a log line or a metric label; implementations keep them in Secret buffers where
// they can.
// Thread-safety: every Gateway implementation is safe to call from many threads at once.
#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"

namespace realdid::ctid {

struct VerifyRequest {
  std::string token;  // the CTID token the wallet obtained from the resident's CTID app
  std::string nonce;  // the authority's nonce (b64url of 16 bytes) the token is bound to
  Secret name;
  Secret id_number;
};

// kInvalidToken: unknown, expired, already used, or bound to another nonce. A token is consumed by
// its first verification, whatever the outcome.
enum class Outcome { kMatch, kMismatch, kInvalidToken };

// "match", "mismatch", "invalid_token" (the wire names).
std::string_view OutcomeName(Outcome outcome) noexcept;

class Gateway {  // thread-safe
 public:
  virtual ~Gateway() = default;
  // Throws Error(kUnavailable) when CTID cannot answer (timeouts, 5xx, breaker open); the
  // detail never contains name, ID number or token.
  virtual Outcome Verify(const VerifyRequest& request) = 0;
  // Seconds a client should wait before retrying while the breaker is open (for Retry-After).
  virtual int RetryAfterSeconds() const noexcept = 0;
};

}  // namespace realdid::ctid

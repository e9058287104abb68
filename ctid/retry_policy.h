// Retry policy of the CTID adapter: which failed attempts may be repeated, and how long to wait.
//
// A CTID token is consumed by its first verification, whatever the result. Repeating a request
// that may have reached CTID would therefore turn a real answer into "invalid_token" (and count a
// CTID failure against the resident). So an attempt is repeated ONLY when the request provably did
// not reach CTID (TCP connect or TLS handshake failed, including their timeouts) or CTID answered
// 5xx (docs/protocol.md section 6: a 5xx means the verification was not performed and the token not
// consumed). Never after the request was sent without an answer (send error, read timeout, broken
// connection), never on a 4xx, never on any 200 answer (even an unparsable one).
// Backoff before retry n (n = 1 for the first retry): d = min(max_backoff, initial_backoff *
// multiplier^(n-1)), then "equal jitter": the wait is uniform in [d * (1 - jitter), d].
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string_view>

namespace realdid::ctid {

struct RetryConfig {
  int max_attempts = 3;  // total attempts per Verify, including the first (1..10)
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  double multiplier = 2.0;  // >= 1
  double jitter = 0.5;      // 0..1: share of the delay that is randomised
};

// How one attempt failed.
enum class FailureClass {
  kConnect,      // TCP connect / TLS handshake failed or timed out: the request was never sent
  kSend,         // writing the request failed: it may have (partly) reached CTID
  kReceive,      // no complete answer (read timeout, connection closed): it may have been processed
  kServerError,  // CTID answered 5xx: verification not performed, token not consumed
  kClientError,  // CTID answered another non-200 status (4xx: our request or certificate refused)
  kBadResponse,  // CTID answered 200 with a body that is not a valid answer (token consumed)
};

// Metric/log label: "connect_error", "send_error", "receive_error", "server_error",
// "client_error", "bad_response".
std::string_view FailureClassName(FailureClass failure) noexcept;

bool IsRetryable(FailureClass failure) noexcept;

// Throws Error(kInvalidInput) naming the field when out of range.
void ValidateRetryConfig(const RetryConfig& config);

// The wait before retry number `retry` (>= 1); `uniform01` is a uniform draw in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryConfig& config, int retry, double uniform01);

}  // namespace realdid::ctid

// The wire format of POST /v1/verify (docs/protocol.md section 6), shared by the adapter and the
// simulator.
//
// EncodeVerifyRequest writes {"token":..,"nonce":..,"name":..,"id_number":..} in canonical JSON
// into a Secret (the body carries identity data). ParseVerifyResponse accepts exactly one object
// with exactly one member "result" whose value is "match", "mismatch" or "invalid_token"; anything
// else (unknown result, extra or duplicate member, wrong type, trailing data) throws
// Error(kInvalidInput) with a fixed text that never quotes the body.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"
#include "ctid/gateway.h"

namespace realdid::ctid {

inline constexpr std::string_view kVerifyPath = "/v1/verify";
inline constexpr std::size_t kMaxTokenBytes = 1024;
inline constexpr std::size_t kMaxNameBytes = 512;
inline constexpr std::size_t kMaxIdNumberBytes = 64;

// Throws Error(kInvalidInput) (fixed text) if a field is empty, over its limit, or not valid UTF-8.
Secret EncodeVerifyRequest(const VerifyRequest& request);
Outcome ParseVerifyResponse(std::string_view body);
// {"result":"..."}
std::string EncodeVerifyResponse(Outcome outcome);

}  // namespace realdid::ctid

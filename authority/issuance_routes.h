// HTTP endpoints of fair blind issuance (docs/protocol.md 5.1-5.4) over issuance::IssuanceService,
// and the helpers that wire the service from the key manifest and the metrics.
//
//   POST /v1/ctid/nonce                          -> 201 {"nonce","expires_at"}
//   POST /v1/issuance/sessions                   -> 201 session values
//   POST /v1/issuance/sessions/{id}/commit       -> 200 {"challenge"}     (Bearer session secret)
//   POST /v1/issuance/sessions/{id}/reveal       -> 200 {"blind_signature"} (Bearer session secret)
//   POST /v1/issuance/sessions/{id}/cancel       -> 200 {"state":"cancelled"} (Bearer; before commit)
//   POST /v1/issuance/history                    -> 200 {"sessions":[...]} (fresh CTID check)
// With an AccessLimiter, nonce, session start and history are admitted per source address first
// (429 + Retry-After), and a failed real-name check counts against the source.
// Bodies are parsed strictly (core/json.h; exact member sets, exact base64url lengths). Problem
// types are those of docs/protocol.md section 7: a malformed message is `bad-request`; service
// outcomes map to `invalid-id-number`, `ctid-failed`, `locked` (+ locked_until), `cheat-detected`
// (+ locked_until) and `unavailable` with Retry-After; the rest goes through authority/problem.h.
// Security contract: name and ID number go from the body straight into Secrets; nothing of them is
// logged. The session secret is read from the Authorization header only.
// Thread-safety: handlers are thread-safe (the service is).
#pragma once

#include <string_view>
#include <vector>

#include "authority/access_limiter.h"
#include "authority/key_manifest.h"
#include "authority/metrics.h"
#include "authority/router.h"
#include "issuance/service.h"

namespace realdid::authority {

// issuance::Events implemented with the Prometheus series of authority/metrics.h.
class IssuanceMetrics final : public issuance::Events {
 public:
  explicit IssuanceMetrics(Metrics& metrics) : metrics_(metrics) {}
  void OnSession(std::string_view result) noexcept override;
  void OnCheat() noexcept override;
  void OnSignature() noexcept override;
  void OnLockout() noexcept override;

 private:
  Metrics& metrics_;
};

// The service's keys from keys.json: every "blind-signing" key on the issuance token (with its
// nbf/exp window and public JWK), the "id-lookup-hmac" and "data-wrapping" keys, and the "escrow"
// public key. Throws Error(kInvalidInput) naming what is missing or malformed.
issuance::Keys IssuanceKeysFromManifest(const std::vector<ManifestKey>& manifest,
                                        std::string_view issuance_token);

// limiter may be null (no per-source limits); it must outlive the router.
void AddIssuanceRoutes(Router& router, issuance::IssuanceService& service,
                       AccessLimiter* limiter = nullptr);

}  // namespace realdid::authority

// OpObserver: how the HSM layer reports what it does, without depending on a metrics library.
// The authority implements it with Prometheus counters and histograms.
//
// Contract: called on the calling thread after each operation (ok or not) and on each session
// recovery; implementations must be thread-safe, fast and must not throw. `token` is the token
// label and `op` a fixed operation name ("rsa_raw", "ecdh", "hmac_sha256", "ecdsa_sign",
// "aes_gcm_encrypt", "aes_gcm_decrypt", "public_key", "ping"); neither is ever secret.
#pragma once

#include <string_view>

namespace realdid::hsm {

struct OpObserver {
  virtual ~OpObserver() = default;
  virtual void OnOp(std::string_view token, std::string_view op, bool ok, double seconds) noexcept = 0;
  virtual void OnRecovery(std::string_view token) noexcept = 0;
};

}  // namespace realdid::hsm

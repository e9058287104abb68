// Token: the service's handle on one PKCS#11 token (the issuance token or the escrow token), with
// its own PIN, login and session pool, and the key operations the authority needs.
//
// Lifecycle: Open() finds the slot by token label, opens a session and logs in once; the token
// never logs out while it lives (in SoftHSM2 C_Logout invalidates private object handles). Up to
// pool_size sessions are kept and handed out as move-only Leases, to waiting threads in arrival
// order (a returned session goes straight to the oldest waiter: no barging, a bounded wait).
// Keys are addressed by KeyRef (CKA_LABEL + CKA_ID); the object class is fixed by the operation.
// Zero or several matching objects is an Error(kInternal). Object handles and public keys are cached.
// Recovery: when a call fails with a session/login/device/handle code (hsm::IsRecoverable), the
// token re-resolves its slot, opens a fresh session, logs in again, forgets every cached handle and
// idle session, and retries the operation once. A second failure surfaces as Error(kUnavailable).
// Errors: bad input -> kInvalidInput; device trouble -> kUnavailable; an RSA result that fails
// the s^e mod n check or an AES-GCM tag mismatch -> kCryptoFailure; anything else -> kInternal.
// Details name the PKCS#11 function and CKR_ code, never the PIN or key material.
// Thread-safety: every public member function is thread-safe. A Lease must not outlive its Token.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "hsm/config.h"
#include "hsm/module.h"
#include "hsm/observer.h"
#include "hsm/session.h"

namespace realdid::hsm {

// A key on the token: CKA_LABEL and CKA_ID (the raw thumbprint digest or random id).
struct KeyRef {
  std::string label;
  Bytes id;
};

// RSA public key, big-endian without leading zero bytes.
struct RsaPublicKey {
  Bytes n;
  Bytes e;
};

class Token {
 public:
  // Loads config.module_path (shared per process) and opens the token. Errors: kUnavailable when
  // the module, the token or the login is not available; kInvalidInput for pool_size 0.
  static std::unique_ptr<Token> Open(const TokenConfig& config, OpObserver* observer = nullptr);
  static std::unique_ptr<Token> Open(std::shared_ptr<Module> module, const TokenConfig& config,
                                     OpObserver* observer = nullptr);

  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  ~Token();

  const std::string& label() const noexcept { return label_; }

  // A pooled session, returned to the pool on destruction (closed instead if the token recovered
  // meanwhile or the lease was discarded). A move empties the source.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    explicit operator bool() const noexcept { return token_ != nullptr; }
    Session& session() noexcept { return session_; }
    std::uint64_t generation() const noexcept { return generation_; }
    // Close the session instead of pooling it (after an error that may leave an operation active).
    void Discard() noexcept { discard_ = true; }

   private:
    friend class Token;
    Lease(Token* token, Session session, std::uint64_t generation) noexcept;
    void Return() noexcept;

    Token* token_ = nullptr;
    Session session_;
    std::uint64_t generation_ = 0;
    bool discard_ = false;
  };

  // Blocks until a session is free (or opens one while fewer than pool_size exist).
  Lease Acquire();

  // Raw RSA private operation (CKM_RSA_X_509) for RFC 9474 blind signing. `input` must be exactly
  // the modulus length with 1 < m < n-1 (else kInvalidInput). The result is checked on the host
  // (s^e mod n == m) before it is returned (else kCryptoFailure); output is modulus length.
  Bytes RsaRawPrivate(const KeyRef& key, ByteView input);
  RsaPublicKey RsaPublic(const KeyRef& key);

  // ECDH on P-256 (CKM_ECDH1_DERIVE, CKD_NULL) with an uncompressed 65-byte peer point that is
  // validated on the curve first (else kInvalidInput). Returns the 32-byte x-coordinate.
  Secret EcdhP256(const KeyRef& key, ByteView peer_point);
  // Uncompressed 65-byte public point of an EC key pair (read from the CKO_PUBLIC_KEY object).
  Bytes EcP256Public(const KeyRef& key);

  // ECDSA P-256 over SHA-256(message) computed on the host; raw r||s (64 bytes, JOSE ES256).
  Bytes EcdsaP256Sign(const KeyRef& key, ByteView message);

  // HMAC-SHA256 (CKM_SHA256_HMAC) with a generic secret key; 32 bytes.
  Bytes HmacSha256(const KeyRef& key, ByteView data);

  // AES-256-GCM (CKM_AES_GCM) under an HSM key: output iv(12) || ciphertext || tag(16); the IV
  // is 12 random bytes from the host CSPRNG. An empty plaintext is refused (kInvalidInput).
  Bytes AesGcmEncrypt(const KeyRef& key, const Secret& plaintext, ByteView aad);
  // Inverse; a wrong key, aad or any altered byte -> kCryptoFailure; input < 28 bytes -> kInvalidInput.
  Secret AesGcmDecrypt(const KeyRef& key, ByteView sealed, ByteView aad);

  // Readiness: a session works, is logged in, and each listed key (any class) is present.
  void Ping(std::span<const KeyRef> keys = {});

  std::uint64_t recoveries() const noexcept { return recoveries_.load(); }
  std::size_t OpenSessionsForTesting() const;
  std::size_t WaitersForTesting() const;

 private:
  Token(std::shared_ptr<Module> module, const TokenConfig& config, OpObserver* observer);

  template <typename F>
  auto Run(std::string_view op, F&& f) -> decltype(f(std::declval<Lease&>()));
  void Recover(std::uint64_t observed_generation);
  void Release(Session session, std::uint64_t generation, bool discard) noexcept;
  Session OpenLoggedInSession();
  CK_OBJECT_HANDLE FindKey(Lease& lease, CK_OBJECT_CLASS cls, const KeyRef& key);
  // n, e, n - 1 and n's Montgomery context, built once per key for RsaRawPrivate's s^e check.
  struct RsaCheckKey;
  std::shared_ptr<const RsaCheckKey> RsaCheck(const KeyRef& key);
  std::string Describe(const KeyRef& key) const;

  const std::shared_ptr<Module> module_;
  const std::string label_;
  const Secret pin_;
  const std::size_t pool_size_;
  OpObserver* const observer_;
  std::atomic<CK_SLOT_ID> slot_;
  std::atomic<std::uint64_t> recoveries_{0};

  std::mutex recover_mu_;  // serialises Recover()

  // A thread queued in Acquire. Release hands a session (or the right to open one) to the oldest
  // waiter directly, so waiters are served in arrival order: a thread that arrives while others
  // wait cannot take a returned session first (no barging), which bounds the wait at load.
  struct Waiter {
    std::condition_variable cv;
    Session session;        // a handed-over session (valid) ...
    bool may_open = false;  // ... or a slot below pool_size to open one in
    std::uint64_t generation = 0;
    bool granted = false;
  };
  // Gives `session` (or, when it is not valid, an opening slot) to the oldest waiter; false when
  // nobody waits. Requires mu_.
  bool HandOver(Session& session);

  mutable std::mutex mu_;
  // GUARDED_BY(mu_):
  std::uint64_t generation_ = 0;       // bumped by every recovery
  std::vector<Session> idle_;          // all of generation_
  std::size_t open_count_ = 0;         // idle + leased (+ being opened) (+ handed over)
  std::deque<Waiter*> waiters_;        // arrival order; idle_ is empty while this is not
  std::map<std::string, CK_OBJECT_HANDLE> handles_;   // of generation_
  std::map<std::string, RsaPublicKey> rsa_public_;
  std::map<std::string, std::shared_ptr<const RsaCheckKey>> rsa_check_;
  std::map<std::string, Bytes> ec_public_;
};

}  // namespace realdid::hsm

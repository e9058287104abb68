#include "hsm/token.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/hash.h"

namespace realdid::hsm {

namespace {

struct BnFree {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct BnCtxFree {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
struct EcGroupFree {
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
};
struct EcPointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

BnPtr ToBn(ByteView b) {
  BnPtr bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  if (!bn) Fail(ErrorKind::kInternal, "BN_bin2bn failed");
  return bn;
}

BnPtr NewBn() {
  BnPtr bn(BN_new());
  if (!bn) Fail(ErrorKind::kInternal, "BN_new failed");
  return bn;
}

Bytes StripLeadingZeros(Bytes b) {
  auto it = std::find_if(b.begin(), b.end(), [](std::uint8_t c) { return c != 0; });
  b.erase(b.begin(), it);
  return b;
}

// Validates an uncompressed P-256 point (on the curve, not infinity) with OpenSSL.
void ValidateP256Point(ByteView p) {
  if (p.size() != 65 || p[0] != 0x04) InvalidInput("peer key must be an uncompressed 65-byte P-256 point");
  std::unique_ptr<EC_GROUP, EcGroupFree> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!group) Fail(ErrorKind::kInternal, "EC_GROUP_new_by_curve_name failed");
  std::unique_ptr<EC_POINT, EcPointFree> point(EC_POINT_new(group.get()));
  if (!point) Fail(ErrorKind::kInternal, "EC_POINT_new failed");
  if (EC_POINT_oct2point(group.get(), point.get(), p.data(), p.size(), nullptr) != 1 ||
      EC_POINT_is_on_curve(group.get(), point.get(), nullptr) != 1 ||
      EC_POINT_is_at_infinity(group.get(), point.get()) == 1) {
    InvalidInput("peer key is not a valid P-256 point");
  }
}

// Calls the observer once when the operation ends.
class OpReport {
 public:
  OpReport(OpObserver* observer, std::string_view token, std::string_view op)
      : observer_(observer), token_(token), op_(op), start_(std::chrono::steady_clock::now()) {}
  ~OpReport() {
    if (observer_ == nullptr) return;
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start_;
    observer_->OnOp(token_, op_, ok_, d.count());
  }
  OpReport(const OpReport&) = delete;
  OpReport& operator=(const OpReport&) = delete;
  void Ok() noexcept { ok_ = true; }

 private:
  OpObserver* observer_;
  std::string_view token_;
  std::string_view op_;
  std::chrono::steady_clock::time_point start_;
  bool ok_ = false;
};

}  // namespace

// ---- Lease ----

Token::Lease::Lease(Token* token, Session session, std::uint64_t generation) noexcept
    : token_(token), session_(std::move(session)), generation_(generation) {}

Token::Lease::Lease(Lease&& other) noexcept
    : token_(std::exchange(other.token_, nullptr)),
      session_(std::move(other.session_)),
      generation_(other.generation_),
      discard_(std::exchange(other.discard_, false)) {}

Token::Lease& Token::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Return();
    token_ = std::exchange(other.token_, nullptr);
    session_ = std::move(other.session_);
    generation_ = other.generation_;
    discard_ = std::exchange(other.discard_, false);
  }
  return *this;
}

Token::Lease::~Lease() { Return(); }

void Token::Lease::Return() noexcept {
  if (token_ != nullptr) token_->Release(std::move(session_), generation_, discard_);
  token_ = nullptr;
  discard_ = false;
}

// ---- Token ----

std::unique_ptr<Token> Token::Open(const TokenConfig& config, OpObserver* observer) {
  return Open(Module::Load(config.module_path), config, observer);
}

std::unique_ptr<Token> Token::Open(std::shared_ptr<Module> module, const TokenConfig& config,
                                   OpObserver* observer) {
  if (config.pool_size == 0) InvalidInput("HSM session pool size must be at least 1");
  std::unique_ptr<Token> token(new Token(std::move(module), config, observer));
  Session first;
  try {
    first = token->OpenLoggedInSession();
  } catch (const Error& e) {
    Fail(ErrorKind::kUnavailable, "cannot log in to token '" + config.token_label + "': " +
                                      std::string(e.detail()));
  }
  std::lock_guard lock(token->mu_);
  token->idle_.push_back(std::move(first));
  token->open_count_ = 1;
  return token;
}

Token::Token(std::shared_ptr<Module> module, const TokenConfig& config, OpObserver* observer)
    : module_(std::move(module)),
      label_(config.token_label),
      pin_(config.pin),
      pool_size_(config.pool_size),
      observer_(observer),
      slot_(module_->FindSlotByTokenLabel(config.token_label)) {
  idle_.reserve(pool_size_ + 2);
}

Token::~Token() {
  std::lock_guard lock(mu_);
  idle_.clear();  // closes the sessions; never C_Logout
}

std::size_t Token::OpenSessionsForTesting() const {
  std::lock_guard lock(mu_);
  return open_count_;
}

std::size_t Token::WaitersForTesting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

Session Token::OpenLoggedInSession() {
  Session s = Session::Open(module_, slot_.load(), /*rw=*/false);
  CK_SESSION_INFO info{};
  Check(s.fn().C_GetSessionInfo(s.handle(), &info), "C_GetSessionInfo");
  if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) s.Login(pin_);
  return s;
}

bool Token::HandOver(Session& session) {
  if (waiters_.empty()) return false;
  Waiter* w = waiters_.front();
  waiters_.pop_front();
  w->generation = generation_;
  if (session.valid()) {
    w->session = std::move(session);
  } else {
    w->may_open = true;
    ++open_count_;
  }
  w->granted = true;
  w->cv.notify_one();
  return true;
}

Token::Lease Token::Acquire() {
  std::uint64_t gen = 0;
  {
    std::unique_lock lock(mu_);
    gen = generation_;
    if (waiters_.empty() && !idle_.empty()) {
      Session s = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(s), gen);
    }
    if (!(waiters_.empty() && open_count_ < pool_size_)) {
      Waiter w;
      waiters_.push_back(&w);
      w.cv.wait(lock, [&] { return w.granted; });
      gen = w.generation;
      if (w.session.valid()) return Lease(this, std::move(w.session), gen);
      // w.may_open: open_count_ already counts the session about to be opened.
    } else {
      ++open_count_;
    }
  }
  try {
    return Lease(this, OpenLoggedInSession(), gen);
  } catch (...) {
    std::lock_guard lock(mu_);
    if (open_count_ > 0) --open_count_;
    Session none;
    if (open_count_ < pool_size_) (void)HandOver(none);  // the freed slot to the oldest waiter
    throw;
  }
}

void Token::Release(Session session, std::uint64_t generation, bool discard) noexcept {
  Session to_close;
  {
    std::lock_guard lock(mu_);
    if (!discard && session.valid() && generation == generation_ &&
        (!waiters_.empty() || idle_.size() < idle_.capacity())) {
      if (!HandOver(session)) idle_.push_back(std::move(session));  // no reallocation
    } else {
      to_close = std::move(session);
      if (open_count_ > 0) --open_count_;
      Session none;
      if (open_count_ < pool_size_) (void)HandOver(none);  // the freed slot to the oldest waiter
    }
  }
  // to_close's destructor closes the session outside the lock.
}

void Token::Recover(std::uint64_t observed_generation) {
  std::lock_guard recover_lock(recover_mu_);
  {
    std::lock_guard lock(mu_);
    if (generation_ != observed_generation) return;  // another thread already recovered
  }
  recoveries_.fetch_add(1);
  if (observer_ != nullptr) observer_->OnRecovery(label_);
  Session fresh;
  try {
    slot_.store(module_->FindSlotByTokenLabel(label_));
    fresh = Session::Open(module_, slot_.load(), /*rw=*/false);
    fresh.Login(pin_);
  } catch (const Error& e) {
    Fail(ErrorKind::kUnavailable,
         "token '" + label_ + "' recovery failed: " + std::string(e.detail()));
  }
  std::vector<Session> stale;
  {
    std::lock_guard lock(mu_);
    ++generation_;
    stale.swap(idle_);
    idle_.reserve(pool_size_ + 2);
    open_count_ -= std::min(open_count_, stale.size());
    ++open_count_;
    if (!HandOver(fresh)) idle_.push_back(std::move(fresh));
    // Slots freed by the stale sessions go to the waiters, oldest first.
    Session none;
    while (open_count_ < pool_size_ && HandOver(none)) {
    }
    handles_.clear();
  }
  // `stale` closes the old idle sessions here; leased ones close when they come back.
}

template <typename F>
auto Token::Run(std::string_view op, F&& f) -> decltype(f(std::declval<Lease&>())) {
  OpReport report(observer_, label_, op);
  for (int attempt = 0;; ++attempt) {
    Lease lease;
    std::uint64_t gen = 0;
    {
      std::lock_guard lock(mu_);
      gen = generation_;
    }
    try {
      lease = Acquire();
      gen = lease.generation();
      auto result = f(lease);
      report.Ok();
      return result;
    } catch (const Pkcs11Error& e) {
      lease.Discard();
      if (attempt > 0 || !IsRecoverable(e.rv())) throw;
      lease = Lease();
      Recover(gen);
    }
  }
}

std::string Token::Describe(const KeyRef& key) const {
  return "token '" + label_ + "', key '" + key.label + "' id " + ToHex(key.id);
}

CK_OBJECT_HANDLE Token::FindKey(Lease& lease, CK_OBJECT_CLASS cls, const KeyRef& key) {
  std::string cache_key = std::to_string(cls) + "/" + key.label + "/" + ToHex(key.id);
  {
    std::lock_guard lock(mu_);
    if (auto it = handles_.find(cache_key); it != handles_.end()) return it->second;
  }
  Session& s = lease.session();
  std::vector<CK_OBJECT_HANDLE> found =
      s.Find({AttrOf(CKA_CLASS, cls), AttrString(CKA_LABEL, key.label), AttrBytes(CKA_ID, key.id)});
  if (found.empty()) {
    // Private objects are invisible without a login: treat a lost login as recoverable.
    CK_SESSION_INFO info{};
    Check(s.fn().C_GetSessionInfo(s.handle(), &info), "C_GetSessionInfo");
    if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) {
      throw Pkcs11Error("C_FindObjects", CKR_USER_NOT_LOGGED_IN, "session lost its login");
    }
    Fail(ErrorKind::kInternal, "key not found: " + Describe(key));
  }
  if (found.size() > 1) Fail(ErrorKind::kInternal, "several objects match " + Describe(key));
  {
    std::lock_guard lock(mu_);
    if (lease.generation() == generation_) handles_[cache_key] = found.front();
  }
  return found.front();
}

RsaPublicKey Token::RsaPublic(const KeyRef& key) {
  std::string cache_key = key.label + "/" + ToHex(key.id);
  {
    std::lock_guard lock(mu_);
    if (auto it = rsa_public_.find(cache_key); it != rsa_public_.end()) return it->second;
  }
  RsaPublicKey pub = Run("public_key", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_PUBLIC_KEY, key);
    RsaPublicKey p;
    p.n = StripLeadingZeros(lease.session().GetBytes(h, CKA_MODULUS));
    p.e = StripLeadingZeros(lease.session().GetBytes(h, CKA_PUBLIC_EXPONENT));
    return p;
  });
  if (pub.n.size() < 64 || pub.e.empty()) Fail(ErrorKind::kInternal, "bad RSA public key: " + Describe(key));
  std::lock_guard lock(mu_);
  rsa_public_[cache_key] = pub;
  return pub;
}

struct MontFree {
  void operator()(BN_MONT_CTX* p) const noexcept { BN_MONT_CTX_free(p); }
};

struct Token::RsaCheckKey {
  std::size_t k = 0;  // modulus length in bytes
  BnPtr n;
  BnPtr e;
  BnPtr n_minus_1;
  std::unique_ptr<BN_MONT_CTX, MontFree> mont;  // read-only once built: shared across threads
};

std::shared_ptr<const Token::RsaCheckKey> Token::RsaCheck(const KeyRef& key) {
  const std::string cache_key = key.label + "/" + ToHex(key.id);
  {
    std::lock_guard lock(mu_);
    if (auto it = rsa_check_.find(cache_key); it != rsa_check_.end()) return it->second;
  }
  const RsaPublicKey pub = RsaPublic(key);
  auto c = std::make_shared<RsaCheckKey>();
  c->k = pub.n.size();
  c->n = ToBn(pub.n);
  c->e = ToBn(pub.e);
  c->n_minus_1 = NewBn();
  if (BN_sub(c->n_minus_1.get(), c->n.get(), BN_value_one()) != 1) {
    Fail(ErrorKind::kInternal, "BN_sub failed");
  }
  std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
  c->mont.reset(BN_MONT_CTX_new());
  if (!ctx || !c->mont || BN_MONT_CTX_set(c->mont.get(), c->n.get(), ctx.get()) != 1) {
    Fail(ErrorKind::kInternal, "BN_MONT_CTX_set failed");
  }
  std::lock_guard lock(mu_);
  return rsa_check_.emplace(cache_key, std::move(c)).first->second;
}

Bytes Token::RsaRawPrivate(const KeyRef& key, ByteView input) {
  const std::shared_ptr<const RsaCheckKey> pub = RsaCheck(key);
  const std::size_t k = pub->k;
  if (input.size() != k) InvalidInput("RSA input must be exactly the modulus length");
  BnPtr m = ToBn(input);
  if (BN_cmp(m.get(), BN_value_one()) <= 0 || BN_cmp(m.get(), pub->n_minus_1.get()) >= 0) {
    InvalidInput("RSA input out of range (need 1 < m < n-1)");
  }
  return Run("rsa_raw", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_PRIVATE_KEY, key);
    Session& s = lease.session();
    CK_MECHANISM mech{CKM_RSA_X_509, nullptr, 0};
    Check(s.fn().C_SignInit(s.handle(), &mech, h), "C_SignInit", "rsa_raw");
    Bytes out(k);
    CK_ULONG len = ToCkUlong(out.size());
    Check(s.fn().C_Sign(s.handle(), const_cast<CK_BYTE_PTR>(input.data()), ToCkUlong(input.size()),
                        out.data(), &len),
          "C_Sign", "rsa_raw");
    std::size_t got = FromCkUlong(len);
    if (got > k) Fail(ErrorKind::kInternal, "RSA output longer than the modulus");
    if (got < k) {  // left-pad to the modulus length
      std::move_backward(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got), out.end());
      std::fill(out.begin(), out.end() - static_cast<std::ptrdiff_t>(got), std::uint8_t{0});
    }
    // RFC 9474: check s^e mod n == m on the host before releasing s — the one software check of
    // the signing path (callers do not repeat it), with n's Montgomery context built once per key.
    std::unique_ptr<BN_CTX, BnCtxFree> ctx(BN_CTX_new());
    BnPtr sbn = ToBn(out);
    BnPtr check = NewBn();
    if (!ctx || BN_mod_exp_mont(check.get(), sbn.get(), pub->e.get(), pub->n.get(), ctx.get(),
                                pub->mont.get()) != 1) {
      Fail(ErrorKind::kInternal, "BN_mod_exp failed");
    }
    if (BN_cmp(sbn.get(), pub->n.get()) >= 0 || BN_cmp(check.get(), m.get()) != 0) {
      Fail(ErrorKind::kCryptoFailure, "HSM RSA result failed verification: " + Describe(key));
    }
    return out;
  });
}

Bytes Token::EcP256Public(const KeyRef& key) {
  std::string cache_key = key.label + "/" + ToHex(key.id);
  {
    std::lock_guard lock(mu_);
    if (auto it = ec_public_.find(cache_key); it != ec_public_.end()) return it->second;
  }
  Bytes point = Run("public_key", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_PUBLIC_KEY, key);
    return DecodeEcPoint(lease.session().GetBytes(h, CKA_EC_POINT));
  });
  ValidateP256Point(point);
  std::lock_guard lock(mu_);
  ec_public_[cache_key] = point;
  return point;
}

Secret Token::EcdhP256(const KeyRef& key, ByteView peer_point) {
  ValidateP256Point(peer_point);
  return Run("ecdh", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_PRIVATE_KEY, key);
    Session& s = lease.session();
    CK_ECDH1_DERIVE_PARAMS params{};
    params.kdf = CKD_NULL;
    params.ulPublicDataLen = ToCkUlong(peer_point.size());
    params.pPublicData = const_cast<CK_BYTE_PTR>(peer_point.data());
    CK_MECHANISM mech{CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ULONG value_len = 32;
    std::vector<CK_ATTRIBUTE> templ = {
        AttrOf(CKA_CLASS, cls),       AttrOf(CKA_KEY_TYPE, kt),      AttrOf(CKA_TOKEN, no),
        AttrOf(CKA_PRIVATE, yes),     AttrOf(CKA_SENSITIVE, no),     AttrOf(CKA_EXTRACTABLE, yes),
        AttrOf(CKA_VALUE_LEN, value_len)};
    CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
    Check(s.fn().C_DeriveKey(s.handle(), &mech, h, templ.data(), ToCkUlong(templ.size()), &derived),
          "C_DeriveKey", "ecdh");
    // The derived object exists only to read its value; destroy it whatever happens.
    struct Destroyer {
      Session& s;
      CK_OBJECT_HANDLE h;
      ~Destroyer() { (void)s.fn().C_DestroyObject(s.handle(), h); }
    } destroyer{s, derived};
    Secret z(s.GetBytes(derived, CKA_VALUE));
    if (z.size() != 32) Fail(ErrorKind::kInternal, "ECDH shared secret has the wrong length");
    return z;
  });
}

Bytes Token::EcdsaP256Sign(const KeyRef& key, ByteView message) {
  Bytes digest = hash::Sha256(message);
  return Run("ecdsa_sign", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_PRIVATE_KEY, key);
    Session& s = lease.session();
    CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
    Check(s.fn().C_SignInit(s.handle(), &mech, h), "C_SignInit", "ecdsa_sign");
    Bytes sig(64);
    CK_ULONG len = ToCkUlong(sig.size());
    Check(s.fn().C_Sign(s.handle(), digest.data(), ToCkUlong(digest.size()), sig.data(), &len),
          "C_Sign", "ecdsa_sign");
    if (FromCkUlong(len) != 64) Fail(ErrorKind::kInternal, "ECDSA signature is not 64 bytes");
    return sig;
  });
}

Bytes Token::HmacSha256(const KeyRef& key, ByteView data) {
  return Run("hmac_sha256", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_SECRET_KEY, key);
    Session& s = lease.session();
    CK_MECHANISM mech{CKM_SHA256_HMAC, nullptr, 0};
    Check(s.fn().C_SignInit(s.handle(), &mech, h), "C_SignInit", "hmac_sha256");
    Bytes mac(32);
    CK_ULONG len = ToCkUlong(mac.size());
    Check(s.fn().C_Sign(s.handle(), const_cast<CK_BYTE_PTR>(data.data()), ToCkUlong(data.size()),
                        mac.data(), &len),
          "C_Sign", "hmac_sha256");
    if (FromCkUlong(len) != 32) Fail(ErrorKind::kInternal, "HMAC-SHA256 output is not 32 bytes");
    return mac;
  });
}

namespace {
constexpr std::size_t kGcmIv = 12;
constexpr std::size_t kGcmTag = 16;

CK_GCM_PARAMS GcmParams(Bytes& iv, ByteView aad) {
  CK_GCM_PARAMS p{};
  p.pIv = iv.data();
  p.ulIvLen = ToCkUlong(iv.size());
  p.ulIvBits = ToCkUlong(iv.size() * 8);
  p.pAAD = aad.empty() ? nullptr : const_cast<CK_BYTE_PTR>(aad.data());
  p.ulAADLen = ToCkUlong(aad.size());
  p.ulTagBits = ToCkUlong(kGcmTag * 8);
  return p;
}
}  // namespace

Bytes Token::AesGcmEncrypt(const KeyRef& key, const Secret& plaintext, ByteView aad) {
  if (plaintext.empty()) InvalidInput("AES-GCM plaintext is empty");
  return Run("aes_gcm_encrypt", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_SECRET_KEY, key);
    Session& s = lease.session();
    Bytes iv = RandomBytes(kGcmIv);
    CK_GCM_PARAMS params = GcmParams(iv, aad);
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    Check(s.fn().C_EncryptInit(s.handle(), &mech, h), "C_EncryptInit", "aes_gcm_encrypt");
    ByteView pt = plaintext.reveal();
    Bytes out(kGcmIv + pt.size() + kGcmTag);
    std::copy(iv.begin(), iv.end(), out.begin());
    CK_ULONG len = ToCkUlong(out.size() - kGcmIv);
    Check(s.fn().C_Encrypt(s.handle(), const_cast<CK_BYTE_PTR>(pt.data()), ToCkUlong(pt.size()),
                           out.data() + kGcmIv, &len),
          "C_Encrypt", "aes_gcm_encrypt");
    if (FromCkUlong(len) != pt.size() + kGcmTag) Fail(ErrorKind::kInternal, "AES-GCM output has the wrong length");
    return out;
  });
}

Secret Token::AesGcmDecrypt(const KeyRef& key, ByteView sealed, ByteView aad) {
  if (sealed.size() < kGcmIv + kGcmTag) InvalidInput("AES-GCM ciphertext too short");
  return Run("aes_gcm_decrypt", [&](Lease& lease) {
    CK_OBJECT_HANDLE h = FindKey(lease, CKO_SECRET_KEY, key);
    Session& s = lease.session();
    Bytes iv(sealed.begin(), sealed.begin() + kGcmIv);
    CK_GCM_PARAMS params = GcmParams(iv, aad);
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    Check(s.fn().C_DecryptInit(s.handle(), &mech, h), "C_DecryptInit", "aes_gcm_decrypt");
    ByteView ct = sealed.subspan(kGcmIv);
    Secret out(Bytes(ct.size()));
    CK_ULONG len = ToCkUlong(ct.size());
    CK_RV rv = s.fn().C_Decrypt(s.handle(), const_cast<CK_BYTE_PTR>(ct.data()), ToCkUlong(ct.size()),
                                const_cast<CK_BYTE_PTR>(out.reveal().data()), &len);
    if (rv != CKR_OK && !IsRecoverable(rv) && rv != CKR_BUFFER_TOO_SMALL) {
      lease.Discard();
      Fail(ErrorKind::kCryptoFailure, "AES-GCM decryption failed (" + CkrName(rv) + "): " + Describe(key));
    }
    Check(rv, "C_Decrypt", "aes_gcm_decrypt");
    std::size_t n = FromCkUlong(len);
    if (n != ct.size() - kGcmTag) Fail(ErrorKind::kInternal, "AES-GCM plaintext has the wrong length");
    return Secret(out.reveal().first(n));
  });
}

void Token::Ping(std::span<const KeyRef> keys) {
  Run("ping", [&](Lease& lease) {
    Session& s = lease.session();
    CK_SESSION_INFO info{};
    Check(s.fn().C_GetSessionInfo(s.handle(), &info), "C_GetSessionInfo", "ping");
    if (info.state != CKS_RO_USER_FUNCTIONS && info.state != CKS_RW_USER_FUNCTIONS) {
      throw Pkcs11Error("C_GetSessionInfo", CKR_USER_NOT_LOGGED_IN, "ping");
    }
    for (const KeyRef& key : keys) {
      if (s.Find({AttrString(CKA_LABEL, key.label), AttrBytes(CKA_ID, key.id)}).empty()) {
        Fail(ErrorKind::kUnavailable, "key missing: " + Describe(key));
      }
    }
    return true;
  });
}

}  // namespace realdid::hsm

#include "tests/issuance/fixture.h"

#include <algorithm>

#include "core/candidate.h"
#include "core/hash.h"

namespace realdid::issuance::testing {

std::unique_ptr<realdid::testing::SoftHsmHarness> IssuanceFixture::softhsm_;
std::unique_ptr<realdid::testing::PgHarness> IssuanceFixture::pg_;
std::unique_ptr<db::Pool> IssuanceFixture::pool_;
std::unique_ptr<CountingObserver> IssuanceFixture::observer_;
std::unique_ptr<hsm::Token> IssuanceFixture::token_;
std::unique_ptr<KeyMaterial> IssuanceFixture::km_;
FakeGateway* IssuanceFixture::ctid_ = nullptr;
int IssuanceFixture::next_person_ = 0;

namespace {
// A random r with 1 < r < n (gcd with n is checked by BlindWith; a failure is negligible).
Bytes DrawR(const blind_rsa::PublicKey& pk) {
  for (;;) {
    Bytes r = RandomBytes(pk.modulus_len());
    r[0] = static_cast<std::uint8_t>(r[0] % pk.n()[0]);  // top byte below n's: r < n
    const bool above_one =
        std::any_of(r.begin(), r.end() - 1, [](std::uint8_t b) { return b != 0; }) || r.back() > 1;
    if (above_one) return r;
  }
}

const ceremony::KeyRecord& Role(const std::vector<ceremony::KeyRecord>& keys,
                                const std::string& role) {
  for (const auto& k : keys) {
    if (k.role == role) return k;
  }
  throw std::runtime_error("no key with role " + role);
}
}  // namespace

void IssuanceFixture::SetUpTestSuite() {
  softhsm_ = std::make_unique<realdid::testing::SoftHsmHarness>();
  softhsm_->InitToken(kIssuanceToken);
  softhsm_->InitToken(kEscrowToken, kEscrowPin);
  ceremony::Options o;
  o.module_path = realdid::testing::SoftHsmHarness::ModulePath();
  o.issuance_token = kIssuanceToken;
  o.issuance_pin = Secret::FromString(realdid::testing::SoftHsmHarness::kUserPin);
  o.escrow_token = kEscrowToken;
  o.escrow_pin = Secret::FromString(kEscrowPin);
  o.out_dir = softhsm_->dir() / "out";
  o.rsa_bits = 2048;
  std::vector<ceremony::KeyRecord> records = ceremony::Run(o);

  pg_ = std::make_unique<realdid::testing::PgHarness>();
  pg_->Migrate();
  db::PoolConfig pc;
  pc.dsn = pg_->Dsn(realdid::testing::PgRole::kAuthority);
  pc.size = 10;
  pc.connect_timeout_seconds = 5;
  pc.acquire_timeout = std::chrono::seconds(60);
  pool_ = std::make_unique<db::Pool>(std::move(pc));

  observer_ = std::make_unique<CountingObserver>();
  hsm::TokenConfig tc;
  tc.module_path = realdid::testing::SoftHsmHarness::ModulePath();
  tc.token_label = kIssuanceToken;
  tc.pin = Secret::FromString(realdid::testing::SoftHsmHarness::kUserPin);
  tc.pool_size = 8;
  token_ = hsm::Token::Open(tc, observer_.get());

  const auto& blind = Role(records, "blind-signing");
  const auto& esc = Role(records, "escrow");
  const auto& hmac = Role(records, "id-lookup-hmac");
  const auto& data = Role(records, "data-wrapping");
  blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromComponents(
      b64url::Decode(blind.jwk.at("n").as_string()), b64url::Decode(blind.jwk.at("e").as_string()));
  Bytes point = Concat({Bytes{0x04}, b64url::Decode(esc.jwk.at("x").as_string()),
                        b64url::Decode(esc.jwk.at("y").as_string())});
  Keys keys{{SigningKey{hsm::KeyRef{blind.label, blind.cka_id}, blind.kid, pk, 0,
                        kNoon + 400 * 86400}},
            hsm::KeyRef{hmac.label, hmac.cka_id},
            hsm::KeyRef{data.label, data.cka_id},
            hpke::DeserializePublicKey(point),
            esc.kid};
  km_ = std::make_unique<KeyMaterial>(KeyMaterial{std::move(keys), pk});
  ctid_ = new FakeGateway();
}

void IssuanceFixture::TearDownTestSuite() {
  token_.reset();
  pool_.reset();
  pg_.reset();
  km_.reset();
  delete ctid_;
  ctid_ = nullptr;
  softhsm_.reset();
}

std::unique_ptr<IssuanceService> IssuanceFixture::MakeService(int k, Events* events,
                                                              std::int64_t min_k) {
  Settings s;
  s.iss = "https://realdid.test";
  s.k = k;
  s.min_k = static_cast<int>(min_k);
  return std::make_unique<IssuanceService>(s, km_->keys, *token_, *pool_, *ctid_, clock_, events);
}

IssuanceFixture::Person IssuanceFixture::NewPerson(const std::string& name) {
  int n = ++next_person_;
  Person p;
  p.name = name + std::to_string(n);
  p.id_number = idnumber::Make("11", static_cast<unsigned>(100 + n), {1990, 5, 17},
                               static_cast<unsigned>(n % 1000));
  ctid_->Register(p.name, p.id_number);
  return p;
}

OpenRequest IssuanceFixture::Request(IssuanceService& svc, const Person& p,
                                     const std::string& token) {
  OpenRequest r;
  r.name = Secret::FromString(p.name);
  r.id_number = Secret::FromString(p.id_number);
  r.nonce = svc.CreateNonce().nonce;
  r.ctid_token = token;
  return r;
}

std::vector<WalletCandidate> IssuanceFixture::BuildCandidates(const OpenedSession& s,
                                                              const Tamper& t) {
  std::vector<WalletCandidate> out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(s.k); ++i) {
    WalletCandidate c;
    hpke::KeyPair holder = hpke::GenerateKeyPair();
    const Bytes& pt = holder.public_key.bytes();
    Opening& o = c.opening;
    o.index = static_cast<int>(i);
    o.holder_x.assign(pt.begin() + 1, pt.begin() + 33);
    o.holder_y.assign(pt.begin() + 33, pt.end());
    o.jti = RandomBytes(16);
    for (Bytes& salt : o.salts) salt = RandomBytes(16);
    o.escrow_ikm = RandomBytes(32);
    o.trace_ikm = RandomBytes(32);
    o.pss_salt = RandomBytes(blind_rsa::kSaltLen);
    o.r = DrawR(km_->pk);
    if (t.opening) t.opening(i, o);

    credential::SessionValues values = s.values;
    if (t.values) t.values(i, values);
    if (!t.escrow && !t.escrow_bytes) {
      // An honest escrow: the one derivation the wallet and the authority use.
      candidate::Opening view{.holder_x = o.holder_x,
                              .holder_y = o.holder_y,
                              .jti = o.jti,
                              .salts = {},
                              .pss_salt = o.pss_salt,
                              .r = o.r,
                              .escrow_ikm = o.escrow_ikm,
                              .trace_ikm = o.trace_ikm};
      for (std::size_t n = 0; n < credential::kNumDisclosed; ++n) view.salts[n] = o.salts[n];
      candidate::Candidate d = candidate::Derive(
          candidate::Context{values, s.issuance_id, km_->keys.escrow_pk, km_->pk}, view);
      c.committed.trace = d.TraceBytes();
      c.built = std::move(d.credential);
      c.blinding = std::move(d.blinding);
    } else {
      // A cheating escrow deviates from candidate::Derive between its steps, so it is spelled out:
      // the escrow is sealed over altered inputs (or replaced), the trace over the honest fields.
      escrow::CredentialFields fields;
      fields.kid = values.kid;
      fields.iat = static_cast<std::uint64_t>(values.iat);
      fields.exp = static_cast<std::uint64_t>(values.exp);
      fields.jti = o.jti;
      fields.cnf_thumbprint = jwk::ThumbprintSha256(jwk::EcP256Public(o.holder_x, o.holder_y));
      Bytes issuance_id = s.issuance_id;
      escrow::CredentialFields escrow_fields = fields;
      if (t.escrow) t.escrow(i, issuance_id, escrow_fields);
      hpke::Sealed esc = escrow::SealEscrow(km_->keys.escrow_pk, values.escrow_kid, escrow_fields,
                                            issuance_id, o.escrow_ikm);
      Bytes escrow_bytes = Concat({esc.enc, esc.ct});
      if (t.escrow_bytes) t.escrow_bytes(i, escrow_bytes);
      credential::CandidateOpening co{o.holder_x, o.holder_y, o.jti, o.salts, escrow_bytes};
      c.built = credential::Build(values, co);
      c.blinding = blind_rsa::BlindWith(km_->pk, AsBytes(c.built.signing_input), o.pss_salt, o.r);
      hpke::Sealed trace = escrow::SealTrace(km_->keys.escrow_pk, values.escrow_kid, fields,
                                             s.issuance_id, esc, o.trace_ikm);
      c.committed.trace = Concat({trace.enc, trace.ct});
    }
    c.committed.blinded_msg = c.blinding.blinded_msg;
    if (t.after) t.after(i, c);
    out.push_back(std::move(c));
  }
  if (t.all) t.all(out);
  return out;
}

std::vector<Candidate> IssuanceFixture::CommitOf(const std::vector<WalletCandidate>& c) {
  std::vector<Candidate> out;
  for (const auto& w : c) out.push_back(w.committed);
  return out;
}

std::vector<Opening> IssuanceFixture::OpeningsExcept(const std::vector<WalletCandidate>& c,
                                                     int j) {
  std::vector<Opening> out;
  for (const auto& w : c) {
    if (w.opening.index != j) out.push_back(w.opening);
  }
  return out;
}

credential::Parsed IssuanceFixture::FinalizeAndVerify(const OpenedSession& s,
                                                      const WalletCandidate& c,
                                                      ByteView blind_sig) {
  Bytes sig = blind_rsa::Finalize(km_->pk, AsBytes(c.built.signing_input), blind_sig, c.blinding);
  std::string issued = c.built.Issued(sig);
  const blind_rsa::PublicKey& pk = km_->pk;
  std::string kid = s.values.kid;
  sdjwt::KeyLookup lookup = [&pk, kid](std::string_view k) -> std::optional<jws::PublicKey> {
    if (k != kid) return std::nullopt;
    return jws::PublicKey::Rsa(pk.n(), pk.e());
  };
  return credential::VerifyIssued(issued, lookup, clock_.Now());
}

std::int64_t IssuanceFixture::PersonIdOf(const OpenedSession& s) {
  return pool_->Run("t", [&](db::Tx& tx) {
    return db::GetSession(tx, s.session_id, false)->person_id;
  });
}

}  // namespace realdid::issuance::testing

// Integration tests of the issuance service (issuance/service.h) against a REAL PostgreSQL server
// and a REAL SoftHSM2 token with ceremony keys; CTID is an honest in-test fake.
#include <algorithm>

#include "core/audit_chain.h"
#include "core/hash.h"
#include "db/audit_store.h"
#include "db/db_error.h"
#include "issuance/identity_box.h"
#include "tests/issuance/fixture.h"

namespace realdid::issuance::testing {
namespace {

template <class F>
Problem ProblemOf(F&& f) {
  try {
    f();
  } catch (const IssuanceError& e) {
    return e.problem();
  }
  ADD_FAILURE() << "no IssuanceError";
  return Problem::kCtidFailed;
}

template <class F>
ErrorKind KindOf(F&& f) {
  try {
    f();
  } catch (const IssuanceError& e) {
    ADD_FAILURE() << "unexpected IssuanceError: " << e.what();
    return e.kind();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no Error";
  return ErrorKind::kInternal;
}

using Svc = IssuanceService;

class IssuanceServiceTest : public IssuanceFixture {
 protected:
  db::SessionRow SessionRowOf(const OpenedSession& s) {
    return pool_->Run("t", [&](db::Tx& tx) { return *db::GetSession(tx, s.session_id, false); });
  }
  db::PersonRow PersonRowOf(std::int64_t id) {
    return pool_->Run("t", [&](db::Tx& tx) { return *db::GetPerson(tx, id, false); });
  }
  std::int64_t Strikes(std::int64_t id) {
    return pool_->Run("t", [&](db::Tx& tx) { return db::CountStrikes(tx, id); });
  }
  std::vector<audit::Row> Audit() {
    return pool_->Run("t", [&](db::Tx& tx) { return db::ReadAudit(tx, 1, 1000000); });
  }
  // Runs a full cheat attempt and checks every consequence.
  void ExpectCheat(const Tamper& t, const std::string& reason_part = "") {
    CountingEvents events;
    auto svc = MakeService(4, &events);
    Person p = NewPerson();
    OpenedSession s = Open(*svc, p);
    auto cands = BuildCandidates(s, t);
    int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
    int before = observer_->rsa_raw();
    std::string detail;
    try {
      svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
      ADD_FAILURE() << "cheat not detected";
    } catch (const IssuanceError& e) {
      EXPECT_EQ(e.problem(), Problem::kCheatDetected);
      ASSERT_TRUE(e.locked_until.has_value());
      EXPECT_EQ(*e.locked_until, clock_.Now() + 30 * 86400);
      detail = e.what();
    }
    if (!reason_part.empty()) {
      EXPECT_NE(detail.find(reason_part), std::string::npos) << detail;
    }
    EXPECT_EQ(observer_->rsa_raw(), before) << "a cheater must get no signature";
    EXPECT_EQ(SessionRowOf(s).state, "failed");
    std::int64_t pid = PersonIdOf(s);
    EXPECT_EQ(Strikes(pid), 1);
    db::PersonRow row = PersonRowOf(pid);
    EXPECT_EQ(row.lock_reason, std::optional<std::string>("cheat"));
    EXPECT_EQ(row.strikes, 1);
    EXPECT_EQ(events.cheats.load(), 1);
    EXPECT_EQ(events.lockouts.load(), 1);
    // Locked: a new session is refused, with locked_until.
    try {
      Open(*svc, p);
      ADD_FAILURE() << "locked person opened a session";
    } catch (const IssuanceError& e) {
      EXPECT_EQ(e.problem(), Problem::kLocked);
      EXPECT_EQ(e.locked_until, std::optional<std::int64_t>(clock_.Now() + 30 * 86400));
    }
    // The audit log records the cheat and the lockout for this person id only.
    auto rows = Audit();
    ASSERT_GE(rows.size(), 2u);
    EXPECT_EQ(rows[rows.size() - 2].kind, "issuance.cheat");
    EXPECT_EQ(rows.back().kind, "issuance.lockout");
    EXPECT_NE(ToString(rows.back().content).find("\"person_id\":" + std::to_string(pid)),
              std::string::npos);
  }
};

TEST_F(IssuanceServiceTest, HappyPathK4SignsOnceAndTheCredentialVerifies) {
  CountingEvents events;
  auto svc = MakeService(4, &events);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  EXPECT_EQ(s.session_id.size(), 16u);
  EXPECT_EQ(s.session_secret.size(), 16u);
  EXPECT_EQ(s.issuance_id.size(), 16u);
  EXPECT_EQ(s.values.iat, 1767225600);
  EXPECT_EQ(s.values.exp, 1767225600 + 30 * 86400);
  EXPECT_EQ(s.values.kid, km_->keys.signing[0].kid);
  EXPECT_EQ(s.values.escrow_kid, km_->keys.escrow_kid);
  EXPECT_TRUE(s.values.attested.age_over_18);
  EXPECT_FALSE(s.values.attested.age_over_60);
  EXPECT_EQ(s.values.attested.province, "11");
  EXPECT_EQ(s.k, 4);
  EXPECT_EQ(s.expires_at, kNoon + 600);

  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  ASSERT_GE(j, 0);
  ASSERT_LT(j, 4);
  int before = observer_->rsa_raw();
  Bytes sig = svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
  EXPECT_EQ(observer_->rsa_raw(), before + 1);
  ASSERT_EQ(sig.size(), km_->pk.modulus_len());

  credential::Parsed parsed = FinalizeAndVerify(s, cands[static_cast<std::size_t>(j)], sig);
  EXPECT_EQ(parsed.iss, "https://realdid.test");
  EXPECT_EQ(parsed.kid, s.values.kid);
  EXPECT_EQ(parsed.BoolClaim("age_over_18"), std::optional<bool>(true));
  EXPECT_EQ(parsed.StringClaim("province"), std::optional<std::string>("11"));
  // The escrow opens (host-side ECDH is not available: the escrow key is in the HSM) -- check the
  // record instead: it keeps trace_j and B_j of the chosen candidate.
  db::IssuanceRecord rec = *pool_->Run(
      "t", [&](db::Tx& tx) { return db::FindIssuanceRecord(tx, s.issuance_id); });
  EXPECT_EQ(rec.trace, cands[static_cast<std::size_t>(j)].committed.trace);
  EXPECT_EQ(rec.blinded_msg, cands[static_cast<std::size_t>(j)].committed.blinded_msg);
  EXPECT_EQ(rec.kid, s.values.kid);
  EXPECT_EQ(rec.person_id, PersonIdOf(s));
  auto by_person = pool_->Run(
      "t", [&](db::Tx& tx) { return db::IssuanceRecordsOfPerson(tx, rec.person_id); });
  ASSERT_EQ(by_person.size(), 1u);
  EXPECT_EQ(by_person[0].issuance_id, s.issuance_id);

  // A retried reveal (and a retried commit) get the stored answers; no second signature.
  EXPECT_EQ(svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j)), sig);
  EXPECT_EQ(svc->Commit(s.session_id, s.session_secret, CommitOf(cands)), j);
  EXPECT_EQ(observer_->rsa_raw(), before + 1);
  db::SessionRow row = SessionRowOf(s);
  EXPECT_EQ(row.state, "signed");
  EXPECT_EQ(row.blind_signature, std::optional<Bytes>(sig));
  EXPECT_EQ(events.signatures.load(), 1);
  EXPECT_EQ(events.sessions["opened"], 1);
  EXPECT_EQ(events.sessions["signed"], 1);

  // After signing, the person may open a new session (one credential at a time, not one ever).
  OpenedSession s2 = Open(*svc, p);
  EXPECT_NE(s2.issuance_id, s.issuance_id);
}

// Retention (migration 0011): once the owner has pruned the commit blob of a signed session, a
// retried reveal and a retried commit still get the stored answers (nothing reads the blob).
TEST_F(IssuanceServiceTest, RetriesAfterTheCommitBlobWasPrunedGetTheStoredAnswers) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  Bytes sig = svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
  auto owner = pg_->MakePool(realdid::testing::PgRole::kOwner, 1);
  EXPECT_EQ(owner->Run("prune", [&](db::Tx& tx) {
    return tx.Exec("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now() "
                   "WHERE id = $1", {ByteView(s.session_id)}).affected_rows();
  }), 1U);
  ASSERT_FALSE(SessionRowOf(s).commit_blob.has_value());
  const int before = observer_->rsa_raw();
  EXPECT_EQ(svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j)), sig);
  EXPECT_EQ(svc->Commit(s.session_id, s.session_secret, CommitOf(cands)), j);
  EXPECT_EQ(observer_->rsa_raw(), before);
  EXPECT_EQ(SessionRowOf(s).state, "signed");
}

TEST_F(IssuanceServiceTest, HappyPathK32) {
  auto svc = MakeService(32, nullptr, 16);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  EXPECT_EQ(s.k, 32);
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  Bytes sig = svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
  credential::Parsed parsed = FinalizeAndVerify(s, cands[static_cast<std::size_t>(j)], sig);
  EXPECT_EQ(parsed.jti, cands[static_cast<std::size_t>(j)].opening.jti);
}

TEST_F(IssuanceServiceTest, SettingsBelowMinimumKAreRefused) {
  EXPECT_THROW(MakeService(8, nullptr, 16), Error);
  EXPECT_THROW(MakeService(1, nullptr, 1), Error);
}

TEST_F(IssuanceServiceTest, CheatWrongEscrowPlaintext) {
  Tamper t;
  t.escrow = [](std::size_t, Bytes& issuance_id, escrow::CredentialFields&) {
    issuance_id = RandomBytes(16);
  };
  ExpectCheat(t, "blinded message does not match");
}

TEST_F(IssuanceServiceTest, CheatWrongEscrowAad) {
  Tamper t;
  t.escrow = [](std::size_t, Bytes&, escrow::CredentialFields& f) { f.jti = RandomBytes(16); };
  ExpectCheat(t);
}

TEST_F(IssuanceServiceTest, CheatEscrowOfAnotherSession) {
  auto svc = MakeService(4);
  OpenedSession other = Open(*svc, NewPerson());
  auto other_cands = BuildCandidates(other);
  // The other session's candidate 0 escrow: decode it from its payload.
  json::Value payload = json::Parse(other_cands[0].built.payload_json);
  Bytes foreign = b64url::Decode(payload.at("escrow").as_string());
  ASSERT_EQ(foreign.size(), 97u);
  Tamper t;
  t.escrow_bytes = [foreign](std::size_t, Bytes& e) { e = foreign; };
  ExpectCheat(t);
}

TEST_F(IssuanceServiceTest, CheatWrongAttributeValue) {
  Tamper t;
  t.values = [](std::size_t, credential::SessionValues& v) { v.attested.age_over_60 = true; };
  ExpectCheat(t);
}

TEST_F(IssuanceServiceTest, CheatWrongExp) {
  Tamper t;
  t.values = [](std::size_t, credential::SessionValues& v) { v.exp += 86400; };
  ExpectCheat(t);
}

TEST_F(IssuanceServiceTest, CheatWrongKid) {
  Tamper t;
  t.values = [](std::size_t, credential::SessionValues& v) { v.kid = v.escrow_kid; };
  ExpectCheat(t);
}

TEST_F(IssuanceServiceTest, CheatBlindedMessageNotMatchingItsOpening) {
  Tamper t;
  t.after = [](std::size_t, WalletCandidate& c) {
    c.committed.blinded_msg = blind_rsa::Blind(km_->pk, AsBytes(c.built.signing_input),
                                               blind_rsa::Variant::kPssDeterministic)
                                  .blinded_msg;
  };
  ExpectCheat(t, "blinded message does not match");
}

TEST_F(IssuanceServiceTest, CheatTraceMismatch) {
  Tamper t;
  t.after = [](std::size_t, WalletCandidate& c) { c.committed.trace.back() ^= 0x01; };
  ExpectCheat(t, "trace does not match");
}

TEST_F(IssuanceServiceTest, CheatRepeatedBlindedMessage) {
  Tamper t;
  t.all = [](std::vector<WalletCandidate>& c) {
    for (std::size_t i = 1; i < c.size(); ++i) c[i].committed.blinded_msg = c[0].committed.blinded_msg;
  };
  ExpectCheat(t, "repeated blinded message");
}

TEST_F(IssuanceServiceTest, CheatRepeatedTraceEnc) {
  Tamper t;
  t.all = [](std::vector<WalletCandidate>& c) {
    for (std::size_t i = 1; i < c.size(); ++i) c[i].committed.trace = c[0].committed.trace;
  };
  ExpectCheat(t, "repeated trace enc");
}

TEST_F(IssuanceServiceTest, CheatRepeatedJtiAcrossCandidates) {
  // Every candidate honestly built with the same jti: caught as a repeat, not as a mismatch.
  Bytes jti = RandomBytes(16);
  Tamper t;
  t.opening = [jti](std::size_t, Opening& o) { o.jti = jti; };
  ExpectCheat(t, "repeated jti");
}

TEST_F(IssuanceServiceTest, CheatRepeatedHolderKeyAcrossCandidates) {
  Tamper t;
  Bytes x, y;
  t.opening = [&x, &y](std::size_t i, Opening& o) {
    if (i == 0) {
      x = o.holder_x;
      y = o.holder_y;
    } else {
      o.holder_x = x;
      o.holder_y = y;
    }
  };
  ExpectCheat(t, "repeated holder key");
}

TEST_F(IssuanceServiceTest, CheatRepeatedRAcrossCandidates) {
  // Every candidate honestly blinded with the same r: caught as a repeat.
  Tamper t;
  Bytes shared_r;
  t.after = [&shared_r](std::size_t i, WalletCandidate& c) {
    if (i == 0) {
      shared_r = c.opening.r;
      return;
    }
    c.blinding = blind_rsa::BlindWith(km_->pk, AsBytes(c.built.signing_input), c.opening.pss_salt,
                                      shared_r);
    c.opening.r = shared_r;
    c.committed.blinded_msg = c.blinding.blinded_msg;
  };
  ExpectCheat(t, "repeated r");
}

TEST_F(IssuanceServiceTest, SecondSessionWhileOneIsOpenIsAConflict) {
  auto svc = MakeService(4);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  EXPECT_EQ(KindOf([&] { Open(*svc, p); }), ErrorKind::kConflict);
  auto cands = BuildCandidates(s);
  svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  EXPECT_EQ(KindOf([&] { Open(*svc, p); }), ErrorKind::kConflict);
}

TEST_F(IssuanceServiceTest, CommitIsWriteOnceAndTheChallengeNeverChanges) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(svc->Commit(s.session_id, s.session_secret, CommitOf(cands)), j);
  auto other = BuildCandidates(s);
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, CommitOf(other)); }),
            ErrorKind::kConflict);
  EXPECT_EQ(SessionRowOf(s).challenge, std::optional<int>(j));
  // The database refuses a changed challenge even for a direct UPDATE by the service role.
  EXPECT_THROW(pool_->Run("t",
                          [&](db::Tx& tx) {
                            tx.Exec("UPDATE issuance_sessions SET challenge = $2 WHERE id = $1",
                                    {s.session_id, (j + 1) % 4});
                          }),
               db::DbError);
}

TEST_F(IssuanceServiceTest, MalformedCommitsAreRefusedWithoutAStrike) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  auto commit = CommitOf(cands);
  auto fewer = commit;
  fewer.pop_back();
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, fewer); }),
            ErrorKind::kInvalidInput);
  auto one = commit;
  one[1].blinded_msg.assign(km_->pk.modulus_len(), 0);
  one[1].blinded_msg.back() = 1;
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, one); }),
            ErrorKind::kInvalidInput);
  auto nm1 = commit;
  nm1[2].blinded_msg = km_->pk.n();
  nm1[2].blinded_msg.back() -= 1;
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, nm1); }),
            ErrorKind::kInvalidInput);
  auto short_trace = commit;
  short_trace[0].trace.pop_back();
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, short_trace); }),
            ErrorKind::kInvalidInput);
  auto short_b = commit;
  short_b[0].blinded_msg.pop_back();
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, short_b); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(SessionRowOf(s).state, "open");
  // The honest commit still goes through.
  svc->Commit(s.session_id, s.session_secret, commit);
}

TEST_F(IssuanceServiceTest, RevealOpeningTheChallengeIsRefused) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  // All four (including j).
  std::vector<Opening> all;
  for (auto& c : cands) all.push_back(c.opening);
  EXPECT_EQ(KindOf([&] { svc->Reveal(s.session_id, s.session_secret, all); }),
            ErrorKind::kInvalidInput);
  // k-1 openings, but one of them is j (another one left out).
  std::vector<Opening> with_j;
  for (auto& c : cands) {
    if (c.opening.index != (j + 1) % 4) with_j.push_back(c.opening);
  }
  EXPECT_EQ(KindOf([&] { svc->Reveal(s.session_id, s.session_secret, with_j); }),
            ErrorKind::kInvalidInput);
  // Not ascending.
  auto desc = OpeningsExcept(cands, j);
  std::reverse(desc.begin(), desc.end());
  EXPECT_EQ(KindOf([&] { svc->Reveal(s.session_id, s.session_secret, desc); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(SessionRowOf(s).state, "committed");
  // The honest reveal still works.
  Bytes sig = svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
  EXPECT_EQ(sig.size(), km_->pk.modulus_len());
}

TEST_F(IssuanceServiceTest, AbandonedCommittedSessionIsAStrikeAndALockout) {
  CountingEvents events;
  auto svc = MakeService(4, &events);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  auto cands = BuildCandidates(s);
  svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  clock_.Advance(601);
  // The wallet saw j and walked away; its late reveal is refused, and the next open settles it.
  EXPECT_EQ(KindOf([&] {
              svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, 0));
            }),
            ErrorKind::kConflict);
  EXPECT_EQ(ProblemOf([&] { Open(*svc, p); }), Problem::kLocked);
  EXPECT_EQ(SessionRowOf(s).state, "expired");
  std::int64_t pid = PersonIdOf(s);
  EXPECT_EQ(Strikes(pid), 1);
  EXPECT_EQ(PersonRowOf(pid).lock_reason, std::optional<std::string>("unanswered-challenge"));
  EXPECT_EQ(events.lockouts.load(), 1);
  EXPECT_EQ(events.sessions["locked"], 1);
}

TEST_F(IssuanceServiceTest, AbandonedOpenSessionJustExpires) {
  auto svc = MakeService(4);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  clock_.Advance(601);
  OpenedSession s2 = Open(*svc, p);
  EXPECT_EQ(SessionRowOf(s).state, "expired");
  EXPECT_EQ(SessionRowOf(s2).state, "open");
  EXPECT_EQ(Strikes(PersonIdOf(s)), 0);
}

TEST_F(IssuanceServiceTest, WrongSecretIsUnauthorizedAndNeverAStrike) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  Secret wrong = Secret::Random(16);
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, wrong, CommitOf(cands)); }),
            ErrorKind::kUnauthorized);
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, Secret(), CommitOf(cands)); }),
            ErrorKind::kUnauthorized);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  // A garbage reveal with the wrong secret: no cheat recorded, the session stays committed.
  auto bad = OpeningsExcept(cands, j);
  bad[0].r = bad[1].r;
  EXPECT_EQ(KindOf([&] { svc->Reveal(s.session_id, wrong, bad); }), ErrorKind::kUnauthorized);
  EXPECT_EQ(SessionRowOf(s).state, "committed");
  EXPECT_EQ(Strikes(PersonIdOf(s)), 0);
  EXPECT_FALSE(PersonRowOf(PersonIdOf(s)).locked_until.has_value());
  EXPECT_EQ(KindOf([&] { svc->Commit(RandomBytes(16), s.session_secret, CommitOf(cands)); }),
            ErrorKind::kNotFound);
}

TEST_F(IssuanceServiceTest, ExpiredSessionRefusesCommit) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  auto cands = BuildCandidates(s);
  clock_.Advance(600);
  EXPECT_EQ(KindOf([&] { svc->Commit(s.session_id, s.session_secret, CommitOf(cands)); }),
            ErrorKind::kConflict);
}

TEST_F(IssuanceServiceTest, LockedPersonIsRefusedUntilTheLockExpires) {
  auto svc = MakeService(4);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  Tamper t;
  t.after = [](std::size_t, WalletCandidate& c) { c.committed.trace.back() ^= 0x01; };
  auto cands = BuildCandidates(s, t);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  EXPECT_EQ(ProblemOf([&] {
              svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
            }),
            Problem::kCheatDetected);
  clock_.Advance(30 * 86400 - 1);
  EXPECT_EQ(ProblemOf([&] { Open(*svc, p); }), Problem::kLocked);
  clock_.Advance(1);
  OpenedSession s2 = Open(*svc, p);
  auto honest = BuildCandidates(s2);
  int j2 = svc->Commit(s2.session_id, s2.session_secret, CommitOf(honest));
  Bytes sig = svc->Reveal(s2.session_id, s2.session_secret, OpeningsExcept(honest, j2));
  FinalizeAndVerify(s2, honest[static_cast<std::size_t>(j2)], sig);
}

TEST_F(IssuanceServiceTest, CtidOutcomesAndNonces) {
  CountingEvents events;
  auto svc = MakeService(4, &events);
  Person p = NewPerson();
  // Mismatch (wrong name), invalid token.
  OpenRequest r = Request(*svc, p);
  r.name = Secret::FromString("someone else");
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(r); }), Problem::kCtidFailed);
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(Request(*svc, p, "forged")); }),
            Problem::kCtidFailed);
  // Nonces: unknown, reused, expired.
  OpenRequest unknown = Request(*svc, p);
  unknown.nonce = RandomBytes(16);
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(unknown); }), Problem::kCtidFailed);
  OpenRequest ok = Request(*svc, p);
  OpenRequest reuse;
  reuse.name = ok.name;
  reuse.id_number = ok.id_number;
  reuse.nonce = ok.nonce;
  reuse.ctid_token = "good";
  svc->OpenSession(ok);
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(reuse); }), Problem::kCtidFailed);
  Person q = NewPerson();
  OpenRequest late = Request(*svc, q);
  clock_.Advance(300);
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(late); }), Problem::kCtidFailed);
  // Unavailable: 503 with Retry-After from the adapter; the nonce is spent.
  ctid_->SetUnavailable(true);
  try {
    svc->OpenSession(Request(*svc, q));
    ADD_FAILURE() << "no error";
  } catch (const IssuanceError& e) {
    EXPECT_EQ(e.problem(), Problem::kCtidUnavailable);
    EXPECT_EQ(e.kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(e.retry_after_seconds, std::optional<int>(17));
  }
  ctid_->SetUnavailable(false);
  // Invalid ID numbers are refused before the nonce or CTID is touched.
  int calls = ctid_->calls();
  OpenRequest bad_id = Request(*svc, q);
  std::string id = q.id_number;
  id[17] = id[17] == '0' ? '1' : '0';
  bad_id.id_number = Secret::FromString(id);
  try {
    svc->OpenSession(bad_id);
    ADD_FAILURE() << "no error";
  } catch (const IssuanceError& e) {
    EXPECT_EQ(e.problem(), Problem::kInvalidIdNumber);
    EXPECT_EQ(std::string(e.what()).find(id), std::string::npos);
  }
  bad_id.id_number = Secret::FromString(id.substr(0, 15));
  EXPECT_EQ(ProblemOf([&] { svc->OpenSession(bad_id); }), Problem::kInvalidIdNumber);
  EXPECT_EQ(ctid_->calls(), calls);
  // The nonce was not consumed by the refused request.
  bad_id.id_number = Secret::FromString(q.id_number);
  svc->OpenSession(bad_id);
  EXPECT_GE(events.sessions["ctid_failed"], 5);
  EXPECT_EQ(events.sessions["ctid_unavailable"], 1);
}

TEST_F(IssuanceServiceTest, IdentityIsStoredEncrypted) {
  auto svc = MakeService(4);
  Person p = NewPerson("Wang Wu");
  OpenedSession s = Open(*svc, p);
  std::int64_t pid = PersonIdOf(s);
  auto su = pg_->MakePool(realdid::testing::PgRole::kSuperuser, 1);
  // Every column of the person's row, in the database's own text form.
  std::string row = su->Run("t", [&](db::Tx& tx) {
    return tx.Exec("SELECT p::text AS t FROM persons p WHERE id = $1", {static_cast<long long>(pid)})
        .One()
        .GetString("t");
  });
  db::PersonRow pr = PersonRowOf(pid);
  for (const std::string& needle : {p.name, p.id_number, p.id_number.substr(0, 14)}) {
    EXPECT_EQ(row.find(needle), std::string::npos);
    EXPECT_EQ(row.find(ToHex(AsBytes(needle))), std::string::npos);
    for (const Bytes* b : {&pr.identity_ct, &pr.data_key_ct, &pr.id_lookup}) {
      EXPECT_EQ(std::search(b->begin(), b->end(), needle.begin(), needle.end()), b->end());
    }
  }
  // And it opens with the HSM data-wrapping key.
  Identity id = OpenIdentity(*token_, km_->keys.data_wrapping, {pr.identity_ct, pr.data_key_ct},
                             pr.id_lookup);
  EXPECT_EQ(id.name.reveal_string(), p.name);
  EXPECT_EQ(id.id_number.reveal_string(), p.id_number);
  // Another aad does not open it.
  EXPECT_THROW(OpenIdentity(*token_, km_->keys.data_wrapping, {pr.identity_ct, pr.data_key_ct},
                            RandomBytes(32)),
               Error);
}

TEST_F(IssuanceServiceTest, AuditRowsAreChainedAndCarryNoIdentity) {
  auto svc = MakeService(4);
  Person p = NewPerson();
  OpenedSession s = Open(*svc, p);
  auto cands = BuildCandidates(s);
  int j = svc->Commit(s.session_id, s.session_secret, CommitOf(cands));
  svc->Reveal(s.session_id, s.session_secret, OpeningsExcept(cands, j));
  std::vector<audit::Row> rows = Audit();
  ASSERT_GE(rows.size(), 2u);
  audit::VerifyResult v = audit::Verify(rows);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(rows.back().kind, "issuance.signed");
  EXPECT_EQ(rows[rows.size() - 2].kind, "issuance.session_opened");
  for (const audit::Row& r : rows) {
    std::string c = ToString(r.content);
    EXPECT_EQ(c.find(p.id_number), std::string::npos);
    EXPECT_EQ(c.find(p.name), std::string::npos);
    EXPECT_EQ(json::Serialize(json::Parse(c)), c);  // canonical JSON
  }
  // The pure verifier names an altered row.
  std::vector<audit::Row> altered = rows;
  altered[altered.size() - 2].content.push_back(' ');
  v = audit::Verify(altered);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, altered[altered.size() - 2].seq);
  // The service role cannot rewrite the audit log or an issuance record.
  EXPECT_THROW(pool_->Run("t", [](db::Tx& tx) { tx.Exec("DELETE FROM audit_log"); }), db::DbError);
  EXPECT_THROW(pool_->Run("t",
                          [](db::Tx& tx) {
                            tx.Exec("UPDATE issuance_records SET kid = kid");
                          }),
               db::DbError);
  EXPECT_THROW(pool_->Run("t", [](db::Tx& tx) { tx.Exec("DELETE FROM strikes"); }), db::DbError);
}

TEST_F(IssuanceServiceTest, DatabaseEnforcesOneActiveSessionPerPerson) {
  auto svc = MakeService(4);
  OpenedSession s = Open(*svc, NewPerson());
  db::SessionRow row = SessionRowOf(s);
  row.id = RandomBytes(16);
  row.issuance_id = RandomBytes(16);
  try {
    pool_->Run("t", [&](db::Tx& tx) { db::InsertSession(tx, row); });
    ADD_FAILURE() << "second active session inserted";
  } catch (const db::DbError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConflict);
  }
}

TEST(IssuanceUniformIndexTest, InRangeAndCoversEveryValue) {
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    int v = UniformIndex(4);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 4);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(UniformIndex(1), 0);
  EXPECT_THROW(UniformIndex(0), Error);
}

TEST(IssuanceAuditChainTest, KnownEncoding) {
  Bytes row = audit::EncodeRow(1, audit::GenesisHash(), "k", AsBytes("ab"));
  EXPECT_EQ(ToHex(row),
            "0000000000000001"
            "00000020" +
                std::string(64, '0') +
                "00000001"
                "6b"
                "00000002"
                "6162");
  EXPECT_THROW(audit::EncodeRow(0, audit::GenesisHash(), "k", {}), Error);
  EXPECT_THROW(audit::EncodeRow(1, Bytes(31), "k", {}), Error);
  EXPECT_THROW(audit::EncodeRow(1, audit::GenesisHash(), "Bad", {}), Error);
  std::vector<audit::Row> rows;
  Bytes prev = audit::GenesisHash();
  for (int i = 1; i <= 3; ++i) {
    Bytes content = ToBytes("c" + std::to_string(i));
    Bytes h = audit::RowHash(i, prev, "x", content);
    rows.push_back({i, prev, h, "x", content});
    prev = h;
  }
  EXPECT_TRUE(audit::Verify(rows).ok);
  auto removed = rows;
  removed.erase(removed.begin() + 1);
  EXPECT_EQ(audit::Verify(removed).first_bad_seq, std::optional<std::int64_t>(3));
  EXPECT_EQ(audit::Verify(removed).reason, "seq gap");
}

}  // namespace
}  // namespace realdid::issuance::testing

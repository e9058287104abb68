// Integration tests of the signed audit log: real PostgreSQL (tests/support/pg_harness), real
// SoftHSM2 token with the audit key made by the key ceremony, the authority's checkpointer, the
// verifier (db/audit_checkpoint_store.h) and the `realdid audit` command line. Every tampering is
// done the way an attacker with the database superuser would: triggers off through
// session_replication_role = replica, then UPDATE / DELETE / INSERT.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "authority/audit_checkpointer.h"
#include "core/audit_checkpoint.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jws.h"
#include "db/audit_checkpoint_store.h"
#include "db/audit_store.h"
#include "hsm/token.h"
#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"
#include "tools/ceremony/ceremony.h"

namespace realdid {
namespace {

using authority::AuditCheckpointer;
using authority::CheckpointerSettings;
using testing::PgHarness;
using testing::PgRole;
using testing::SoftHsmHarness;

constexpr const char* kIssuanceToken = "audit-issuance";
constexpr const char* kEscrowToken = "audit-escrow";

std::string RealdidBinary() {
  std::filesystem::path base;
  if (const char* d = std::getenv("REALDID_BINARY_DIR"); d != nullptr && *d != '\0') {
    base = d;
  } else {
    base = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
  }
  return (base / "tools" / "realdid" / "realdid").string();
}

class AuditLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    softhsm_ = new SoftHsmHarness();
    softhsm_->InitToken(kIssuanceToken);
    softhsm_->InitToken(kEscrowToken);
    ceremony::Options o;
    o.module_path = SoftHsmHarness::ModulePath();
    o.issuance_token = kIssuanceToken;
    o.issuance_pin = Secret::FromString(SoftHsmHarness::kUserPin);
    o.escrow_token = kEscrowToken;
    o.escrow_pin = Secret::FromString(SoftHsmHarness::kUserPin);
    o.out_dir = softhsm_->dir() / "keys";
    o.rsa_bits = 2048;
    for (const ceremony::KeyRecord& k : ceremony::Run(o)) {
      if (k.role == "audit-signing") audit_key_ = new ceremony::KeyRecord(k);
    }
    ASSERT_NE(audit_key_, nullptr);
    hsm::TokenConfig tc;
    tc.module_path = SoftHsmHarness::ModulePath();
    tc.token_label = kIssuanceToken;
    tc.pin = Secret::FromString(SoftHsmHarness::kUserPin);
    tc.pool_size = 4;
    token_ = hsm::Token::Open(tc).release();
  }
  static void TearDownTestSuite() {
    delete token_;
    delete audit_key_;
    delete softhsm_;
  }

  void SetUp() override {
    pg_ = std::make_unique<PgHarness>();
    pg_->Migrate();
    authority_ = pg_->MakePool(PgRole::kAuthority, 4);
    reader_ = pg_->MakePool(PgRole::kWarrant, 1);
    superuser_ = pg_->MakePool(PgRole::kSuperuser, 1);
    dsn_file_ = (pg_->dir() / "reader-dsn").string();
    {
      std::ofstream out(dsn_file_);
      out << pg_->Dsn(PgRole::kWarrant).reveal_string() << "\n";
    }
    ::chmod(dsn_file_.c_str(), 0600);
  }

  std::unique_ptr<AuditCheckpointer> Checkpointer(std::int64_t every_rows = 10,
                                                  prometheus::Registry* registry = nullptr,
                                                  std::function<std::int64_t()> clock = {}) {
    CheckpointerSettings s;
    s.every_rows = every_rows;
    s.interval = std::chrono::seconds(3600);
    return std::make_unique<AuditCheckpointer>(
        s, *authority_, *token_, hsm::KeyRef{audit_key_->label, audit_key_->cka_id},
        audit_key_->kid, registry, std::move(clock));
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      authority_->Run("append", [&](db::Tx& tx) {
        db::AppendAudit(tx, "test.event", ToBytes("{\"n\":" + std::to_string(++appended_) + "}"));
      });
    }
  }

  // 25 rows, checkpoint #1 (rows 1..25), 7 rows, checkpoint #2 (26..32), 3 unsigned rows.
  void BuildLog() {
    auto cp = Checkpointer();
    Append(25);
    ASSERT_TRUE(cp->RunOnce().has_value());
    Append(7);
    ASSERT_FALSE(cp->RunOnce().has_value());  // 7 < 10 rows and the interval has not passed
    ASSERT_TRUE(cp->RunOnce(/*force=*/true).has_value());
    Append(3);
  }

  std::map<std::string, jws::PublicKey> Keys() const {
    return {{audit_key_->kid, jws::PublicKey::FromJwk(audit_key_->jwk)}};
  }

  audit::LogReport Verify(std::optional<audit::WitnessState> w = std::nullopt) {
    db::AuditVerifyOptions o;
    o.witness = std::move(w);
    o.page = 4;  // several pages even for a small log
    return db::VerifyAuditLog(*reader_, Keys(), o);
  }

  // As the database superuser with every trigger off.
  void Tamper(const std::function<void(db::Tx&)>& fn) {
    superuser_->Run("tamper", [&](db::Tx& tx) {
      tx.Exec("SET LOCAL session_replication_role = replica");
      fn(tx);
    });
  }

  int Cli(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {RealdidBinary(), "audit"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, out);
  }
  std::string KeysJson() const { return (softhsm_->dir() / "keys" / "keys.json").string(); }

  static void ExpectRow(const audit::LogReport& r, audit::FindingKind kind, std::int64_t seq) {
    ASSERT_FALSE(r.ok);
    ASSERT_TRUE(r.finding.has_value());
    EXPECT_EQ(r.finding->kind, kind) << r.finding->reason;
    ASSERT_TRUE(r.finding->seq.has_value()) << r.finding->reason;
    EXPECT_EQ(*r.finding->seq, seq) << r.finding->reason;
  }

  static SoftHsmHarness* softhsm_;
  static ceremony::KeyRecord* audit_key_;
  static hsm::Token* token_;
  std::unique_ptr<PgHarness> pg_;
  std::unique_ptr<db::Pool> authority_;
  std::unique_ptr<db::Pool> reader_;
  std::unique_ptr<db::Pool> superuser_;
  std::string dsn_file_;
  int appended_ = 0;
};

SoftHsmHarness* AuditLogTest::softhsm_ = nullptr;
ceremony::KeyRecord* AuditLogTest::audit_key_ = nullptr;
hsm::Token* AuditLogTest::token_ = nullptr;

TEST_F(AuditLogTest, UntouchedLogVerifies) {
  BuildLog();
  audit::LogReport r = Verify();
  ASSERT_TRUE(r.ok) << r.finding->reason;
  EXPECT_EQ(r.rows, 35);
  EXPECT_EQ(r.checkpoints, 2);
  EXPECT_EQ(r.signed_seq, 32);
  std::string out;
  EXPECT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson()}, &out), 0) << out;
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"unsigned_rows\":3"), std::string::npos) << out;
}

TEST_F(AuditLogTest, AppendOnlyEvenForTheServiceRoles) {
  BuildLog();
  EXPECT_THROW(authority_->Run("x", [](db::Tx& tx) { tx.Exec("DELETE FROM audit_checkpoints"); }),
               Error);
  EXPECT_THROW(authority_->Run("x",
                               [](db::Tx& tx) {
                                 tx.Exec("UPDATE audit_checkpoints SET signed_at = 0");
                               }),
               Error);
  EXPECT_THROW(reader_->Run("x",
                            [](db::Tx& tx) {
                              tx.Exec("INSERT INTO audit_checkpoints SELECT * FROM "
                                      "audit_checkpoints WHERE false");
                            }),
               Error);
  auto owner = pg_->MakePool(PgRole::kOwner, 1);
  EXPECT_THROW(owner->Run("x", [](db::Tx& tx) { tx.Exec("DELETE FROM audit_checkpoints"); }),
               Error);
  EXPECT_THROW(owner->Run("x", [](db::Tx& tx) { tx.Exec("TRUNCATE audit_checkpoints"); }), Error);
}

TEST_F(AuditLogTest, UpdatedRowIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    tx.Exec("UPDATE audit_log SET content = convert_to('{\"n\":700}', 'UTF8') WHERE seq = 7");
  });
  ExpectRow(Verify(), audit::FindingKind::kRowAltered, 7);
  std::string out;
  EXPECT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson()}, &out), 1) << out;
  EXPECT_NE(out.find("\"seq\":7"), std::string::npos) << out;
  EXPECT_NE(out.find("row 7 was altered"), std::string::npos) << out;
}

TEST_F(AuditLogTest, DeletedRowIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) { tx.Exec("DELETE FROM audit_log WHERE seq = 12"); });
  ExpectRow(Verify(), audit::FindingKind::kRowRemoved, 12);
}

TEST_F(AuditLogTest, DeletedSignedTailIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) { tx.Exec("DELETE FROM audit_log WHERE seq >= 30"); });
  ExpectRow(Verify(), audit::FindingKind::kRowRemoved, 30);
}

TEST_F(AuditLogTest, InsertedRowIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    Bytes prev = db::ReadAudit(tx, 8, 1).at(0).row_hash;
    tx.Exec("UPDATE audit_log SET seq = seq + 1000000 WHERE seq >= 9");
    tx.Exec("UPDATE audit_log SET seq = seq - 999999 WHERE seq >= 1000000");
    Bytes content = ToBytes("{\"n\":\"forged\"}");
    tx.Exec("INSERT INTO audit_log (seq, prev_hash, row_hash, kind, content) VALUES (9, $1, $2, "
            "'test.event', $3)",
            {prev, audit::RowHash(9, prev, "test.event", content), content});
  });
  ExpectRow(Verify(), audit::FindingKind::kRowAltered, 9);
}

TEST_F(AuditLogTest, RewriteRecomputingEveryLaterHashIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    std::vector<audit::Row> rows = db::ReadAudit(tx, 1, 1000);
    rows[3].content = ToBytes("{\"n\":\"rewritten\"}");  // row 4
    for (std::size_t i = 3; i < rows.size(); ++i) {
      rows[i].prev_hash = rows[i - 1].row_hash;
      rows[i].row_hash = audit::RowHash(rows[i].seq, rows[i].prev_hash, rows[i].kind, rows[i].content);
      tx.Exec("UPDATE audit_log SET prev_hash = $1, row_hash = $2, content = $3 WHERE seq = $4",
              {rows[i].prev_hash, rows[i].row_hash, rows[i].content,
               static_cast<long long>(rows[i].seq)});
    }
  });
  // The chain alone is consistent again: only the signed checkpoint can tell.
  std::vector<audit::Row> all =
      reader_->Run("read", [](db::Tx& tx) { return db::ReadAudit(tx, 1, 1000); });
  EXPECT_TRUE(audit::Verify(all).ok);
  ExpectRow(Verify(), audit::FindingKind::kRowAltered, 4);
}

TEST_F(AuditLogTest, ForgedOrAlteredCheckpointIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    tx.Exec("UPDATE audit_checkpoints SET signature = overlay(signature placing '\\x00'::bytea "
            "from 10 for 1) WHERE number = 2");
  });
  audit::LogReport r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.finding->kind, audit::FindingKind::kCheckpointInvalid) << r.finding->reason;
  EXPECT_EQ(r.finding->checkpoint, 2);
  std::string out;
  EXPECT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson()}, &out), 1) << out;
  EXPECT_NE(out.find("\"checkpoint\":2"), std::string::npos) << out;
}

TEST_F(AuditLogTest, CheckpointFieldAlteredIsNamed) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    tx.Exec("UPDATE audit_checkpoints SET signed_at = signed_at - 1 WHERE number = 1");
  });
  audit::LogReport r = Verify();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.finding->kind, audit::FindingKind::kCheckpointInvalid) << r.finding->reason;
  EXPECT_EQ(r.finding->checkpoint, 1);
}

TEST_F(AuditLogTest, WitnessDetectsRollback) {
  BuildLog();
  const std::string witness = (pg_->dir() / "witness.json").string();
  const std::string outside = (pg_->dir() / "outside-witness.json").string();
  const std::string exported = (pg_->dir() / "checkpoints.json").string();
  std::string out;
  ASSERT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson(), "--witness", witness},
                &out),
            0)
      << out;
  ASSERT_TRUE(std::filesystem::exists(witness));
  EXPECT_EQ(audit::ParseWitness(testing::RunCommand({"/bin/cat", witness}, &out) == 0 ? out : "")
                .number,
            2);
  ASSERT_EQ(Cli({"export", "--dsn-file", dsn_file_, "--out", exported}, &out), 0) << out;
  ASSERT_EQ(Cli({"witness", "--keys", KeysJson(), "--checkpoints", exported, "--witness", outside},
                &out),
            0)
      << out;

  // Roll back: checkpoint #2 and every row after #1 disappear. What is left is self-consistent.
  Tamper([](db::Tx& tx) {
    tx.Exec("DELETE FROM audit_checkpoints WHERE number = 2");
    tx.Exec("DELETE FROM audit_log WHERE seq > 25");
  });
  EXPECT_TRUE(Verify().ok);
  EXPECT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson()}, &out), 0) << out;
  // The witnesses are not fooled.
  EXPECT_EQ(Cli({"verify", "--dsn-file", dsn_file_, "--keys", KeysJson(), "--witness", witness},
                &out),
            1)
      << out;
  EXPECT_NE(out.find("witness_rollback"), std::string::npos) << out;
  EXPECT_NE(out.find("\"seq\":26"), std::string::npos) << out;
  ASSERT_EQ(Cli({"export", "--dsn-file", dsn_file_, "--out", exported}, &out), 0) << out;
  EXPECT_EQ(Cli({"witness", "--keys", KeysJson(), "--checkpoints", exported, "--witness", outside},
                &out),
            1)
      << out;
  EXPECT_NE(out.find("witness_rollback"), std::string::npos) << out;
  // The witness files still hold checkpoint #2.
  audit::LogReport r = Verify(audit::ParseWitness([&] {
    std::string text;
    testing::RunCommand({"/bin/cat", witness}, &text);
    return text;
  }()));
  ExpectRow(r, audit::FindingKind::kWitnessRollback, 26);
}

TEST_F(AuditLogTest, WitnessAcceptsGrowth) {
  BuildLog();
  const std::string witness = (pg_->dir() / "witness.json").string();
  const std::string exported = (pg_->dir() / "checkpoints.json").string();
  std::string out;
  ASSERT_EQ(Cli({"export", "--dsn-file", dsn_file_, "--out", exported}, &out), 0) << out;
  ASSERT_EQ(Cli({"witness", "--keys", KeysJson(), "--checkpoints", exported, "--witness", witness},
                &out),
            0)
      << out;
  Append(20);
  ASSERT_TRUE(Checkpointer()->RunOnce().has_value());
  ASSERT_EQ(Cli({"export", "--dsn-file", dsn_file_, "--out", exported, "--from", "3"}, &out), 0)
      << out;
  ASSERT_EQ(Cli({"witness", "--keys", KeysJson(), "--checkpoints", exported, "--witness", witness},
                &out),
            0)
      << out;
  std::string text;
  testing::RunCommand({"/bin/cat", witness}, &text);
  EXPECT_EQ(audit::ParseWitness(text).number, 3);
  EXPECT_EQ(audit::ParseWitness(text).to_seq, 55);
}

TEST_F(AuditLogTest, CheckpointerIsDueByRowsOrTimeAndSetsTheGauge) {
  std::atomic<std::int64_t> now{1'800'000'000};
  prometheus::Registry registry;
  auto cp = Checkpointer(5, &registry, [&now] { return now.load(); });
  auto gauge = [&registry]() -> double {
    for (const auto& f : registry.Collect()) {
      if (f.name == "realdid_audit_last_checkpoint_timestamp_seconds") return f.metric.at(0).gauge.value;
    }
    return -1;
  };
  std::optional<audit::Checkpoint> c = cp->RunOnce();  // the first checkpoint is due at once
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->number, 1);
  EXPECT_EQ(c->to_seq, 0);
  EXPECT_EQ(gauge(), 1'800'000'000.0);
  Append(4);
  EXPECT_FALSE(cp->RunOnce().has_value());
  Append(1);
  c = cp->RunOnce();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->from_seq, 0);
  EXPECT_EQ(c->to_seq, 5);
  now += 3599;
  EXPECT_FALSE(cp->RunOnce().has_value());
  now += 1;
  c = cp->RunOnce();  // nothing new, but the interval passed: a freshness checkpoint
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->from_seq, 5);
  EXPECT_EQ(c->to_seq, 5);
  EXPECT_EQ(gauge(), 1'800'003'600.0);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, CheckpointerRefusesToSignABrokenChain) {
  BuildLog();
  Tamper([](db::Tx& tx) {
    tx.Exec("UPDATE audit_log SET content = convert_to('{}', 'UTF8') WHERE seq = 34");
  });
  try {
    Checkpointer()->RunOnce(true);
    FAIL() << "signed a broken chain";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.detail()).find("audit chain broken at row 34"), std::string::npos)
        << e.detail();
  }
  ExpectRow(Verify(), audit::FindingKind::kRowAltered, 34);
}

TEST_F(AuditLogTest, SeveralCheckpointersNeverFork) {
  // Two "authority processes": their own pools, one token, racing appends and checkpoints.
  auto other_pool = pg_->MakePool(PgRole::kAuthority, 2);
  CheckpointerSettings s;
  s.every_rows = 1;
  auto a = Checkpointer(1);
  AuditCheckpointer b(s, *other_pool, *token_, hsm::KeyRef{audit_key_->label, audit_key_->cka_id},
                      audit_key_->kid);
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  auto run = [&](AuditCheckpointer& c) {
    while (!done.load()) {
      if (c.RunOnce(true)) ++written;
    }
  };
  std::thread ta([&] { run(*a); });
  std::thread tb([&] { run(b); });
  Append(30);
  done = true;
  ta.join();
  tb.join();
  ASSERT_TRUE(a->RunOnce(true).has_value());
  audit::LogReport r = Verify();
  ASSERT_TRUE(r.ok) << r.finding->reason;
  EXPECT_EQ(r.checkpoints, written.load() + 1);
  EXPECT_EQ(r.signed_seq, 30);
}

}  // namespace
}  // namespace realdid

// Retention of the issuance commit blob (migration 0011, db::PruneCommitBlobs,
// admin::PruneCommitBlobs, `realdid-admin retention commit-blobs`) on a real PostgreSQL: what is
// pruned and what is kept, the audit row of each batch, the guard trigger's rules for the owner,
// the missing privilege of the service role, the migration on a database that already holds
// sessions, and the command line end to end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "db/db_error.h"
#include "db/issuance_store.h"
#include "db/pool.h"
#include "tests/support/pg_harness.h"
#include "tests/support/softhsm_harness.h"
#include "tools/admin/retention.h"

namespace realdid::db {
namespace {

namespace fs = std::filesystem;
using realdid::testing::PgHarness;
using realdid::testing::PgRole;

constexpr std::int64_t kDay = 86400;
constexpr int kK = 4;
constexpr std::size_t kChunk = 384 + 161;  // blinded_msg (RSA-3072) || trace

Bytes Filled(std::size_t n, int tag) { return Bytes(n, static_cast<std::uint8_t>(tag)); }

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// What a session looked like when the test created it.
struct Made {
  Bytes id;
  std::optional<Bytes> commit_hash;
  std::optional<Bytes> commit_blob;
  std::optional<Bytes> blind_signature;
};

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ = pg_.MakePool(PgRole::kOwner, 1);
    authority_ = pg_.MakePool(PgRole::kAuthority, 1);
  }

  std::int64_t NewPerson(int tag) {
    return owner_->Run("person", [&](Tx& tx) {
      return tx
          .Exec("INSERT INTO persons (id_lookup, identity_ct, data_key_ct) VALUES ($1, $2, $3) "
                "RETURNING id",
                {Filled(32, tag), Filled(60, tag), Filled(60, tag)})
          .One()
          .GetInt64(0);
    });
  }

  // A session of a new person, created `age_days` days ago, driven by the service role's own
  // store functions to `state`: open, committed, signed (with its issuance record), failed,
  // expired (after a commit) or expired_open (expired before any commit: no blob).
  Made NewSession(int tag, std::int64_t age_days, const std::string& state) {
    const std::int64_t person = NewPerson(tag);
    const std::int64_t at = Now() - age_days * kDay;
    SessionRow s;
    s.id = Filled(16, tag);
    s.person_id = person;
    s.secret_hash = Filled(32, tag);
    s.issuance_id = Filled(16, tag + 100);
    s.iss = "https://authority.test";
    s.kid = std::string(43, 'k');
    s.escrow_kid = std::string(43, 'e');
    s.iat = at - at % kDay;
    s.exp = s.iat + 365 * kDay;
    s.age_over_18 = true;
    s.province = "11";
    s.k = kK;
    s.created_at = at;
    s.expires_at = at + 600;
    Made m;
    m.id = s.id;
    authority_->Run("make session", [&](Tx& tx) {
      InsertSession(tx, s);
      if (state == "open") return;
      if (state == "expired_open") {
        ASSERT_TRUE(TransitionSession(tx, s.id, "open", "expired"));
        return;
      }
      Bytes blob;
      for (int i = 0; i < kK; ++i) {
        Bytes chunk = Filled(kChunk, tag * 10 + i);
        blob.insert(blob.end(), chunk.begin(), chunk.end());
      }
      const Bytes hash = Filled(32, tag + 50);
      ASSERT_TRUE(StoreCommit(tx, s.id, hash, blob, 1));
      m.commit_hash = hash;
      m.commit_blob = blob;
      if (state == "committed") return;
      if (state == "failed" || state == "expired") {
        ASSERT_TRUE(TransitionSession(tx, s.id, "committed", state));
        return;
      }
      ASSERT_EQ(state, "signed");
      IssuanceRecord r;
      r.issuance_id = s.issuance_id;
      r.person_id = person;
      r.session_id = s.id;
      r.kid = s.kid;
      r.blinded_msg = Bytes(blob.begin() + kChunk, blob.begin() + kChunk + 384);
      r.trace = Bytes(blob.begin() + kChunk + 384, blob.begin() + 2 * kChunk);
      r.created_at = at;
      InsertIssuanceRecord(tx, r);
      const Bytes sig = Filled(384, tag + 70);
      ASSERT_TRUE(StoreSignature(tx, s.id, sig));
      m.blind_signature = sig;
    });
    return m;
  }

  SessionRow Get(ByteView id) {
    return owner_->Run("get", [&](Tx& tx) {
      std::optional<SessionRow> s = GetSession(tx, id, false);
      if (!s) throw std::runtime_error("session missing");
      return *s;
    });
  }
  std::optional<std::string> PrunedAt(ByteView id) {
    return owner_->Run("pruned_at", [&](Tx& tx) {
      return tx
          .Exec("SELECT commit_blob_pruned_at::text AS p FROM issuance_sessions WHERE id = $1",
                {id})
          .One()
          .GetOptString("p");
    });
  }
  // The session still holds exactly what was committed, and no prune mark.
  void ExpectKept(const Made& m, const std::string& state) {
    SessionRow s = Get(m.id);
    EXPECT_EQ(s.state, state);
    EXPECT_EQ(s.commit_blob, m.commit_blob);
    EXPECT_EQ(s.commit_hash, m.commit_hash);
    EXPECT_FALSE(PrunedAt(m.id).has_value());
  }
  void ExpectPruned(const Made& m, const std::string& state) {
    SessionRow s = Get(m.id);
    EXPECT_EQ(s.state, state);
    EXPECT_FALSE(s.commit_blob.has_value());
    EXPECT_EQ(s.commit_hash, m.commit_hash);
    EXPECT_EQ(s.blind_signature, m.blind_signature);
    EXPECT_TRUE(PrunedAt(m.id).has_value());
  }
  std::vector<std::string> RetentionAudit() {
    return owner_->Run("audit", [&](Tx& tx) {
      Result r = tx.Exec(
          "SELECT content FROM audit_log WHERE kind = 'retention.commit_blobs' ORDER BY seq");
      std::vector<std::string> out;
      for (std::size_t i = 0; i < r.size(); ++i) {
        Bytes c = r[i].GetBytes(0);
        out.emplace_back(c.begin(), c.end());
      }
      return out;
    });
  }
  static std::string SqlState(Pool& pool, const std::string& sql, const Params& params) {
    try {
      pool.Run("probe", [&](Tx& tx) { tx.Exec(sql, params); });
    } catch (const DbError& e) {
      return e.sqlstate();
    }
    return "ok";
  }

  PgHarness pg_;
  std::unique_ptr<Pool> owner_;
  std::unique_ptr<Pool> authority_;
};

TEST_F(RetentionTest, PrunesSignedAndExpiredOlderThanNAndKeepsTheRest) {
  pg_.Migrate();
  const Made signed_old = NewSession(1, 40, "signed");
  const Made expired_old = NewSession(2, 40, "expired");
  const Made failed_old = NewSession(3, 40, "failed");
  const Made committed_old = NewSession(4, 40, "committed");
  const Made open_old = NewSession(5, 40, "open");
  const Made signed_recent = NewSession(6, 20, "signed");
  const Made expired_no_blob = NewSession(7, 40, "expired_open");
  const std::optional<IssuanceRecord> record_before = authority_->Run(
      "rec", [&](Tx& tx) { return FindIssuanceRecord(tx, Filled(16, 101)); });
  ASSERT_TRUE(record_before.has_value());

  const admin::RetentionRun run = admin::PruneCommitBlobs(*owner_, 30);
  EXPECT_EQ(run.pruned, 2);
  EXPECT_EQ(run.batches, 1);
  ExpectPruned(signed_old, "signed");
  ExpectPruned(expired_old, "expired");
  ExpectKept(failed_old, "failed");
  ExpectKept(committed_old, "committed");
  ExpectKept(open_old, "open");
  ExpectKept(signed_recent, "signed");
  ExpectKept(expired_no_blob, "expired");
  EXPECT_FALSE(Get(expired_no_blob.id).commit_blob.has_value());

  // The issuance record (B_j, trace_j) is untouched.
  const std::optional<IssuanceRecord> record_after = authority_->Run(
      "rec", [&](Tx& tx) { return FindIssuanceRecord(tx, Filled(16, 101)); });
  ASSERT_TRUE(record_after.has_value());
  EXPECT_EQ(record_after->blinded_msg, record_before->blinded_msg);
  EXPECT_EQ(record_after->trace, record_before->trace);
  EXPECT_EQ(record_after->session_id, signed_old.id);
  EXPECT_EQ(record_after->created_at, record_before->created_at);

  // One audit row, counts only, in the chain.
  EXPECT_EQ(RetentionAudit(), std::vector<std::string>{"{\"pruned\":2,\"older_than_days\":30}"});
  // A second run finds nothing and appends nothing.
  EXPECT_EQ(admin::PruneCommitBlobs(*owner_, 30).pruned, 0);
  EXPECT_EQ(RetentionAudit().size(), 1U);
  // A shorter window now takes the recent one too.
  EXPECT_EQ(admin::PruneCommitBlobs(*owner_, 10).pruned, 1);
  ExpectPruned(signed_recent, "signed");
  ExpectKept(failed_old, "failed");
}

TEST_F(RetentionTest, BatchesEachCommitWithTheirOwnAuditRow) {
  pg_.Migrate();
  for (int i = 0; i < 5; ++i) NewSession(10 + i, 40 + i, "signed");
  std::vector<std::int64_t> seen;
  const admin::RetentionRun run =
      admin::PruneCommitBlobs(*owner_, 30, 2, [&](std::int64_t n) { seen.push_back(n); });
  EXPECT_EQ(run.pruned, 5);
  EXPECT_EQ(run.batches, 3);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_EQ(RetentionAudit(), (std::vector<std::string>{"{\"pruned\":2,\"older_than_days\":30}",
                                                        "{\"pruned\":2,\"older_than_days\":30}",
                                                        "{\"pruned\":1,\"older_than_days\":30}"}));
  // Oldest first: with a limit of 1 on fresh data the oldest row goes.
  const Made young = NewSession(20, 31, "signed");
  const Made old = NewSession(21, 60, "signed");
  EXPECT_EQ(owner_->Run("one", [](Tx& tx) { return PruneCommitBlobs(tx, 30, 1); }), 1);
  ExpectPruned(old, "signed");
  ExpectKept(young, "signed");
}

TEST_F(RetentionTest, RefusesBadArguments) {
  pg_.Migrate();
  const Made m = NewSession(1, 40, "signed");
  for (std::int64_t days : {0, -1}) {
    try {
      admin::PruneCommitBlobs(*owner_, days);
      ADD_FAILURE() << days;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("at least 1"), std::string::npos) << e.what();
    }
    EXPECT_THROW(owner_->Run("p", [&](Tx& tx) { PruneCommitBlobs(tx, days, 10); }), Error);
  }
  EXPECT_THROW(admin::PruneCommitBlobs(*owner_, 30, 0), Error);
  EXPECT_THROW(owner_->Run("p", [&](Tx& tx) { PruneCommitBlobs(tx, 30, 0); }), Error);
  ExpectKept(m, "signed");
  EXPECT_TRUE(RetentionAudit().empty());
}

TEST_F(RetentionTest, ServiceRoleCannotPrune) {
  pg_.Migrate();
  const Made m = NewSession(1, 40, "signed");
  // Nulling the blob without the mark: the trigger refuses it.
  EXPECT_EQ(SqlState(*authority_, "UPDATE issuance_sessions SET commit_blob = NULL WHERE id = $1",
                     {ByteView(m.id)}),
            "P0001");
  // The mark itself: no privilege.
  EXPECT_EQ(SqlState(*authority_,
                     "UPDATE issuance_sessions SET commit_blob = NULL, "
                     "commit_blob_pruned_at = now() WHERE id = $1",
                     {ByteView(m.id)}),
            "42501");
  EXPECT_EQ(SqlState(*authority_,
                     "UPDATE issuance_sessions SET commit_blob_pruned_at = now() WHERE id = $1",
                     {ByteView(m.id)}),
            "42501");
  try {
    authority_->Run("prune", [](Tx& tx) { PruneCommitBlobs(tx, 30, 10); });
    ADD_FAILURE() << "the service role pruned";
  } catch (const DbError& e) {
    EXPECT_EQ(e.sqlstate(), "42501");
  }
  ExpectKept(m, "signed");
}

TEST_F(RetentionTest, GuardRulesHoldForTheOwner) {
  pg_.Migrate();
  const Made pruned = NewSession(1, 40, "signed");
  const Made failed = NewSession(2, 40, "failed");
  const Made signed_kept = NewSession(3, 5, "signed");
  const Made committed = NewSession(4, 40, "committed");
  const Made no_blob = NewSession(5, 40, "expired_open");
  ASSERT_EQ(admin::PruneCommitBlobs(*owner_, 30).pruned, 1);
  const std::optional<std::string> mark = PrunedAt(pruned.id);
  ASSERT_TRUE(mark.has_value());

  auto owner = [&](const std::string& sql, const Made& m) {
    return SqlState(*owner_, sql, {ByteView(m.id)});
  };
  // pruned_at is write-once (changed or cleared).
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob_pruned_at = now() + interval '1 day' "
                  "WHERE id = $1", pruned), "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob_pruned_at = NULL WHERE id = $1",
                  pruned), "P0001");
  // A pruned blob cannot come back.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = '\\x00'::bytea WHERE id = $1",
                  pruned), "P0001");
  // A failed session keeps its blob (the evidence of the cheat).
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now() "
                  "WHERE id = $1", failed), "P0001");
  // A committed session is still waiting for its reveal; nulling it while expiring it in the same
  // UPDATE is refused too.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now() "
                  "WHERE id = $1", committed), "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET state = 'expired', commit_blob = NULL, "
                  "commit_blob_pruned_at = now() WHERE id = $1", committed), "P0001");
  // The blob changes to other bytes: refused, with or without the mark.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = '\\x0102'::bytea WHERE id = $1",
                  signed_kept), "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = '\\x0102'::bytea, "
                  "commit_blob_pruned_at = now() WHERE id = $1", signed_kept), "P0001");
  // Nulling without the mark, marking without nulling, nulling while changing commit_hash.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = NULL WHERE id = $1", signed_kept),
            "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob_pruned_at = now() WHERE id = $1",
                  signed_kept), "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now(), "
                  "commit_hash = decode(repeat('ab', 32), 'hex') WHERE id = $1", signed_kept),
            "P0001");
  // No blob to prune: no mark either.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob_pruned_at = now() WHERE id = $1",
                  no_blob), "P0001");
  // The CHECK (the trigger only sees UPDATEs): a row inserted with a mark but a blob / wrong state.
  EXPECT_EQ(SqlState(*owner_,
                     "INSERT INTO issuance_sessions (id, person_id, secret_hash, issuance_id, iss, "
                     "kid, escrow_kid, iat, exp, age_over_18, age_over_60, province, k, state, "
                     "created_at, expires_at, commit_blob_pruned_at) SELECT $1, person_id, "
                     "secret_hash, $2, iss, kid, escrow_kid, iat, exp, age_over_18, age_over_60, "
                     "province, k, 'open', created_at, expires_at, now() FROM issuance_sessions "
                     "WHERE id = $3",
                     {Filled(16, 99), Filled(16, 199), ByteView(no_blob.id)}),
            "23514");
  // The other write-once rules of 0002/0008 still hold.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET challenge = 2 WHERE id = $1", signed_kept),
            "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET blind_signature = '\\x01'::bytea WHERE id = $1",
                  pruned), "P0001");
  EXPECT_EQ(owner("UPDATE issuance_sessions SET state = 'committed' WHERE id = $1", pruned),
            "P0001");

  ExpectPruned(pruned, "signed");
  EXPECT_EQ(PrunedAt(pruned.id), mark);
  ExpectKept(failed, "failed");
  ExpectKept(signed_kept, "signed");
  ExpectKept(committed, "committed");
  // The owner's own well-formed prune of a signed session passes the trigger.
  EXPECT_EQ(owner("UPDATE issuance_sessions SET commit_blob = NULL, commit_blob_pruned_at = now() "
                  "WHERE id = $1", signed_kept), "ok");
  ExpectPruned(signed_kept, "signed");
}

TEST_F(RetentionTest, MigrationAppliesOnADatabaseWithSessions) {
  const fs::path pre = pg_.dir() / "migrations-pre0011";
  fs::create_directories(pre);
  for (const auto& e : fs::directory_iterator(PgHarness::RepoMigrationsDir())) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.substr(0, 4) < "0011") fs::copy_file(e.path(), pre / name);
  }
  pg_.Migrate(pre);
  const Made signed_old = NewSession(1, 40, "signed");
  const Made failed_old = NewSession(2, 40, "failed");
  const Made committed = NewSession(3, 40, "committed");
  // Before 0011 the commit is strictly write-once, even for the owner.
  EXPECT_EQ(SqlState(*owner_, "UPDATE issuance_sessions SET commit_blob = NULL WHERE id = $1",
                     {ByteView(signed_old.id)}),
            "P0001");

  pg_.Migrate();  // the repository's folder: 0011 (and anything after it)
  ExpectKept(signed_old, "signed");
  ExpectKept(failed_old, "failed");
  ExpectKept(committed, "committed");
  EXPECT_EQ(admin::PruneCommitBlobs(*owner_, 30).pruned, 1);
  ExpectPruned(signed_old, "signed");
  ExpectKept(failed_old, "failed");
  // The service still completes a session stored before the migration.
  ASSERT_TRUE(authority_->Run(
      "sign", [&](Tx& tx) { return StoreSignature(tx, committed.id, Filled(384, 9)); }));
  EXPECT_EQ(Get(committed.id).state, "signed");
}

TEST_F(RetentionTest, AdminCommandEndToEnd) {
  pg_.Migrate();
  NewSession(1, 40, "signed");
  NewSession(2, 41, "expired");
  const Made failed = NewSession(3, 40, "failed");
  const fs::path dsn_file = pg_.dir() / "owner-dsn";
  {
    std::ofstream out(dsn_file, std::ios::binary);
    out << pg_.Dsn(PgRole::kOwner).reveal_string();
  }
  fs::permissions(dsn_file, fs::perms::owner_read | fs::perms::owner_write);
  fs::path bin_dir;
  if (const char* d = std::getenv("REALDID_BINARY_DIR"); d != nullptr && *d != '\0') {
    bin_dir = d;
  } else {
    bin_dir = fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
  }
  const std::string admin_bin = (bin_dir / "tools/admin/realdid-admin").string();
  auto run = [&](std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {admin_bin, "retention", "commit-blobs", "--dsn-file",
                               dsn_file.string()});
    return realdid::testing::RunCommand(args, out);
  };
  std::string out;
  for (const char* bad : {"0", "-3", "30d", ""}) {
    EXPECT_EQ(run({"--older-than-days", bad}, &out), 2) << bad << ": " << out;
    EXPECT_NE(out.find("--older-than-days must be a whole number of days, at least 1"),
              std::string::npos)
        << out;
  }
  EXPECT_EQ(run({}, &out), 2) << out;
  EXPECT_EQ(run({"--older-than-days", "30", "--batch", "0"}, &out), 2) << out;
  EXPECT_EQ(run({"--older-than-days", "30", "--rows", "5"}, &out), 2) << out;
  EXPECT_TRUE(RetentionAudit().empty());

  ASSERT_EQ(run({"--older-than-days", "30", "--batch", "1"}, &out), 0) << out;
  EXPECT_EQ(out, "pruned 2 commit blobs (older than 30 days, 2 batches)\n");
  EXPECT_EQ(RetentionAudit(), (std::vector<std::string>{"{\"pruned\":1,\"older_than_days\":30}",
                                                        "{\"pruned\":1,\"older_than_days\":30}"}));
  ASSERT_EQ(run({"--older-than-days", "30"}, &out), 0) << out;
  EXPECT_EQ(out, "pruned 0 commit blobs (older than 30 days, 0 batches)\n");
  ExpectKept(failed, "failed");

  // The other daily job: partitions ahead (realdid_ensure_partitions, migration 0009).
  auto partitions = [&](std::vector<std::string> args, std::string* o) {
    args.insert(args.begin(), {admin_bin, "partitions", "ensure", "--dsn-file", dsn_file.string()});
    return realdid::testing::RunCommand(args, o);
  };
  auto leaf_partitions = [&] {
    return owner_->Run("count", [](Tx& tx) {
      return tx.Exec("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                     "JOIN pg_class p ON p.oid = i.inhparent "
                     "WHERE p.relname IN ('issuance_records', 'audit_log')").One().GetInt64(0);
    });
  };
  for (const char* bad : {"-1", "25", "x"}) {
    EXPECT_EQ(partitions({"--months-ahead", bad}, &out), 2) << bad << ": " << out;
  }
  EXPECT_EQ(partitions({"--rows", "1"}, &out), 2) << out;
  const std::int64_t before = leaf_partitions();
  ASSERT_EQ(partitions({"--months-ahead", "6"}, &out), 0) << out;
  const std::int64_t made = leaf_partitions() - before;
  EXPECT_GT(made, 0);
  EXPECT_EQ(out, "partitions created: " + std::to_string(made) + "\n");
  ASSERT_EQ(partitions({"--months-ahead", "6"}, &out), 0) << out;  // idempotent
  EXPECT_EQ(out, "partitions created: 0\n");
}

}  // namespace
}  // namespace realdid::db

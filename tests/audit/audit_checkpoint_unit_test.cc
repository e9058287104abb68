// Unit tests of core/audit_checkpoint.h: the signed body byte for byte, the JSON and witness forms,
// and LogVerifier on every kind of tampering (host ECDSA keys; the HSM path is in the integration
// test).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/audit_checkpoint.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/jws.h"

namespace realdid::audit {
namespace {

Bytes Fill(std::uint8_t b, std::size_t n = 32) { return Bytes(n, b); }

TEST(AuditCheckpointTest, BodyIsThePinnedEncoding) {
  Checkpoint c;
  c.number = 2;
  c.prev_hash = Fill(0x11);
  c.from_seq = 5;
  c.to_seq = 7;
  c.row_hashes = Concat({Fill(0xa1), Fill(0xa2)});
  c.head_hash = Fill(0xa2);
  c.signed_at = 1700000000;
  c.kid = "kid-1";
  const std::string expected_hex =
      "0000001b" + ToHex(AsBytes("realdid/v1/audit-checkpoint")) + "0000000000000002" +
      std::string(64, '1') + "0000000000000005" + "0000000000000007" + ToHex(Fill(0xa2)) +
      ToHex(hash::Sha256(c.row_hashes)) + "000000006553f100" + "00000005" +
      ToHex(AsBytes("kid-1"));
  EXPECT_EQ(ToHex(EncodeCheckpoint(c)), expected_hex);
  EXPECT_EQ(CheckpointHash(c), hash::Sha256(EncodeCheckpoint(c)));
}

TEST(AuditCheckpointTest, MalformedFieldsAreRefused) {
  Checkpoint good = NextCheckpoint(nullptr, 1, Fill(0xa1), 10, "k");
  EXPECT_NO_THROW(EncodeCheckpoint(good));
  auto refuse = [](Checkpoint c) { EXPECT_THROW(EncodeCheckpoint(c), Error); };
  Checkpoint c = good;
  c.number = 0;
  refuse(c);
  c = good;
  c.prev_hash.pop_back();
  refuse(c);
  c = good;
  c.to_seq = 2;  // 2 rows claimed, 1 hash present
  refuse(c);
  c = good;
  c.head_hash = Fill(0xb0);  // not the last covered row's hash
  refuse(c);
  c = good;
  c.kid = "k\"id";
  refuse(c);
  c = good;
  c.signed_at = -1;
  refuse(c);
  c = good;
  c.from_seq = 2;
  refuse(c);
}

TEST(AuditCheckpointTest, NextCheckpointChains) {
  Checkpoint a = NextCheckpoint(nullptr, 0, {}, 5, "k");
  EXPECT_EQ(a.number, 1);
  EXPECT_EQ(a.prev_hash, GenesisHash());
  EXPECT_EQ(a.head_hash, GenesisHash());
  Checkpoint b = NextCheckpoint(&a, 2, Concat({Fill(1), Fill(2)}), 6, "k");
  EXPECT_EQ(b.number, 2);
  EXPECT_EQ(b.prev_hash, CheckpointHash(a));
  EXPECT_EQ(b.from_seq, 0);
  EXPECT_EQ(b.head_hash, Fill(2));
  Checkpoint c = NextCheckpoint(&b, 2, {}, 7, "k");  // nothing new: same head
  EXPECT_EQ(c.from_seq, 2);
  EXPECT_EQ(c.head_hash, Fill(2));
}

// A log of n rows with a checkpoint after each `every` rows, signed with a host key.
struct Log {
  jws::PrivateKey key = jws::PrivateKey::GenerateEcP256();
  std::string kid = jwk::Kid(key.Public().Jwk());
  std::vector<Row> rows;
  std::vector<Checkpoint> checkpoints;

  Log(int n, int every) {
    Bytes prev = GenesisHash();
    for (int i = 1; i <= n; ++i) {
      Row r;
      r.seq = i;
      r.prev_hash = prev;
      r.kind = "test.event";
      r.content = ToBytes("{\"i\":" + std::to_string(i) + "}");
      r.row_hash = RowHash(r.seq, r.prev_hash, r.kind, r.content);
      prev = r.row_hash;
      rows.push_back(r);
      if (i % every == 0) AddCheckpoint(i);
    }
  }
  void AddCheckpoint(std::int64_t to) {
    const audit::Checkpoint* prev = checkpoints.empty() ? nullptr : &checkpoints.back();
    Bytes hashes;
    for (std::int64_t s = prev == nullptr ? 1 : prev->to_seq + 1; s <= to; ++s) {
      const Bytes& h = rows[static_cast<std::size_t>(s - 1)].row_hash;
      hashes.insert(hashes.end(), h.begin(), h.end());
    }
    audit::Checkpoint c = NextCheckpoint(prev, to, hashes, 1000 + to, kid);
    Sign(c);
    checkpoints.push_back(c);
  }
  void Sign(audit::Checkpoint& c) const {
    c.signature = jws::SignRaw(key, jws::Alg::kES256, ToString(EncodeCheckpoint(c)));
  }
  std::map<std::string, jws::PublicKey> Keys() const { return {{kid, key.Public()}}; }
  // Recomputes every row hash from `from` on (a rewrite that keeps the chain consistent).
  void Rechain(std::size_t from_index) {
    for (std::size_t i = from_index; i < rows.size(); ++i) {
      rows[i].prev_hash = i == 0 ? GenesisHash() : rows[i - 1].row_hash;
      rows[i].row_hash = RowHash(rows[i].seq, rows[i].prev_hash, rows[i].kind, rows[i].content);
    }
  }
  LogReport Verify(std::optional<WitnessState> witness = std::nullopt) const {
    LogVerifier v(Keys());
    if (witness) v.ExpectWitness(*witness);
    for (const auto& c : checkpoints) {
      if (!v.AddCheckpoint(c)) break;
    }
    for (const auto& r : rows) {
      if (!v.AddRow(r)) break;
    }
    return v.Finish();
  }
};

void ExpectRow(const LogReport& r, FindingKind kind, std::int64_t seq) {
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.finding.has_value());
  EXPECT_EQ(r.finding->kind, kind) << r.finding->reason;
  ASSERT_TRUE(r.finding->seq.has_value()) << r.finding->reason;
  EXPECT_EQ(*r.finding->seq, seq) << r.finding->reason;
}

void ExpectCheckpoint(const LogReport& r, FindingKind kind, std::int64_t number) {
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.finding.has_value());
  EXPECT_EQ(r.finding->kind, kind) << r.finding->reason;
  ASSERT_TRUE(r.finding->checkpoint.has_value()) << r.finding->reason;
  EXPECT_EQ(*r.finding->checkpoint, number) << r.finding->reason;
}

TEST(LogVerifierTest, UntouchedLogVerifies) {
  Log log(23, 5);
  LogReport r = log.Verify();
  EXPECT_TRUE(r.ok) << (r.finding ? r.finding->reason : "");
  EXPECT_EQ(r.rows, 23);
  EXPECT_EQ(r.checkpoints, 4);
  EXPECT_EQ(r.last_seq, 23);
  EXPECT_EQ(r.signed_seq, 20);
}

TEST(LogVerifierTest, EmptyLogVerifies) {
  Log log(0, 1);
  log.AddCheckpoint(0);
  EXPECT_TRUE(log.Verify().ok);
}

TEST(LogVerifierTest, AlteredContentIsNamed) {
  Log log(12, 4);
  log.rows[6].content = ToBytes("{\"i\":99}");
  ExpectRow(log.Verify(), FindingKind::kRowAltered, 7);
}

TEST(LogVerifierTest, AlteredUnsignedRowIsNamedByTheChain) {
  Log log(12, 4);
  log.rows[10].content = ToBytes("{\"i\":99}");  // row 11, after the last checkpoint
  ExpectRow(log.Verify(), FindingKind::kRowAltered, 11);
}

TEST(LogVerifierTest, RemovedRowIsNamed) {
  Log log(12, 4);
  log.rows.erase(log.rows.begin() + 4);  // row 5
  ExpectRow(log.Verify(), FindingKind::kRowRemoved, 5);
}

TEST(LogVerifierTest, TruncationOfSignedRowsIsNamed) {
  Log log(12, 4);
  log.rows.resize(9);  // rows 10..12 gone; checkpoint #3 covers up to 12
  ExpectRow(log.Verify(), FindingKind::kRowRemoved, 10);
}

TEST(LogVerifierTest, TruncationAfterTheLastCheckpointIsInvisible) {
  Log log(14, 4);
  log.rows.resize(13);  // row 14 was never signed
  EXPECT_TRUE(log.Verify().ok);
}

TEST(LogVerifierTest, InsertedRowIsNamed) {
  Log log(12, 4);
  Row extra;
  extra.seq = 6;
  extra.kind = "test.forged";
  extra.content = ToBytes("{}");
  log.rows.insert(log.rows.begin() + 5, extra);
  for (std::size_t i = 6; i < log.rows.size(); ++i) log.rows[i].seq += 1;
  log.Rechain(5);
  ExpectRow(log.Verify(), FindingKind::kRowAltered, 6);
}

TEST(LogVerifierTest, RewriteRecomputingEveryLaterHashIsNamed) {
  Log log(20, 8);
  log.rows[2].content = ToBytes("{\"i\":333}");  // row 3
  log.Rechain(2);
  // The chain alone is consistent again...
  std::vector<Row> rows = log.rows;
  EXPECT_TRUE(Verify(rows).ok);
  // ...but the first signed checkpoint recorded row 3's original hash.
  ExpectRow(log.Verify(), FindingKind::kRowAltered, 3);
}

TEST(LogVerifierTest, BrokenLinkIsNamed) {
  Log log(12, 100);
  log.rows[4].row_hash = RowHash(5, log.rows[4].prev_hash, "test.event", ToBytes("x"));
  log.rows[4].content = ToBytes("x");  // row 5 rehashed alone: row 6 no longer links
  ExpectRow(log.Verify(), FindingKind::kRowLinkBroken, 6);
}

TEST(LogVerifierTest, ForgedOrAlteredCheckpointIsNamed) {
  {
    Log log(12, 4);
    log.checkpoints[1].signature[5] ^= 0x01;
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 2);
  }
  {
    Log log(12, 4);
    log.checkpoints[1].signed_at += 1;  // altered field, signature unchanged
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 2);
  }
  {
    Log log(12, 4);  // signed by a key not in the key set
    jws::PrivateKey other = jws::PrivateKey::GenerateEcP256();
    log.checkpoints[2].signature =
        jws::SignRaw(other, jws::Alg::kES256, ToString(EncodeCheckpoint(log.checkpoints[2])));
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 3);
  }
  {
    Log log(12, 4);  // row hashes of the checkpoint rewritten to match a rewritten log
    log.rows[1].content = ToBytes("{}");
    log.Rechain(1);
    Bytes hashes;
    for (int i = 0; i < 4; ++i) {
      hashes.insert(hashes.end(), log.rows[static_cast<std::size_t>(i)].row_hash.begin(),
                    log.rows[static_cast<std::size_t>(i)].row_hash.end());
    }
    log.checkpoints[0].row_hashes = hashes;
    log.checkpoints[0].head_hash = log.rows[3].row_hash;
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 1);
  }
}

TEST(LogVerifierTest, MissingOrForkedCheckpointIsNamed) {
  {
    Log log(12, 4);
    log.checkpoints.erase(log.checkpoints.begin() + 1);
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 2);
  }
  {
    Log log(12, 4);  // a validly signed #2 that does not link to #1
    Checkpoint fork = log.checkpoints[1];
    fork.prev_hash = Fill(0x77);
    log.Sign(fork);
    log.checkpoints[1] = fork;
    log.checkpoints.resize(2);
    ExpectCheckpoint(log.Verify(), FindingKind::kCheckpointInvalid, 2);
  }
}

TEST(LogVerifierTest, WitnessDetectsRollbackAndRewrite) {
  Log log(12, 4);
  WitnessState w = WitnessOf(log.checkpoints[2]);
  EXPECT_TRUE(log.Verify(w).ok);
  // Roll back: the last checkpoint and its rows are gone; the rest verifies on its own.
  Log rolled = log;
  rolled.checkpoints.resize(2);
  rolled.rows.resize(8);
  EXPECT_TRUE(rolled.Verify().ok);
  LogReport r = rolled.Verify(w);
  ExpectRow(r, FindingKind::kWitnessRollback, 9);
  // Same number, different content (re-signed history is impossible without the key, but a
  // mismatch must be named even if it were).
  WitnessState other = w;
  other.checkpoint_hash[0] ^= 1;
  ExpectCheckpoint(log.Verify(other), FindingKind::kWitnessMismatch, 3);
}

TEST(LogVerifierTest, AnchoredExportMustGrowFromTheWitness) {
  Log log(12, 4);
  WitnessState w = WitnessOf(log.checkpoints[1]);
  {
    LogVerifier v(log.Keys());
    v.AnchorAt(w);
    for (const auto& c : log.checkpoints) ASSERT_TRUE(v.AddCheckpoint(c));
    EXPECT_TRUE(v.Finish(false).ok);
  }
  {  // export only from #3 on: linked to the witness's #2
    LogVerifier v(log.Keys());
    v.AnchorAt(w);
    ASSERT_TRUE(v.AddCheckpoint(log.checkpoints[2]));
    EXPECT_TRUE(v.Finish(false).ok);
  }
  {  // an export that ends before what the witness saw
    LogVerifier v(log.Keys());
    v.AnchorAt(WitnessOf(log.checkpoints[2]));
    ASSERT_TRUE(v.AddCheckpoint(log.checkpoints[0]));
    LogReport r = v.Finish(false);
    ExpectCheckpoint(r, FindingKind::kWitnessRollback, 3);
  }
}

TEST(AuditCheckpointTest, JsonAndWitnessRoundTripStrictly) {
  Log log(6, 3);
  const Checkpoint& c = log.checkpoints[1];
  json::Value j = CheckpointToJson(c);
  Checkpoint back = CheckpointFromJson(json::Parse(json::Serialize(j)));
  EXPECT_EQ(EncodeCheckpoint(back), EncodeCheckpoint(c));
  EXPECT_EQ(back.signature, c.signature);
  json::Value extra = j;
  extra.set("note", "x");
  EXPECT_THROW(CheckpointFromJson(extra), Error);
  json::Value short_sig = j;
  short_sig.set("signature", "AAAA");
  EXPECT_THROW(CheckpointFromJson(short_sig), Error);
  json::Value str_num = j;
  str_num.set("number", "2");
  EXPECT_THROW(CheckpointFromJson(str_num), Error);

  WitnessState w = WitnessOf(c);
  WitnessState wb = ParseWitness(SerializeWitness(w));
  EXPECT_EQ(wb.number, w.number);
  EXPECT_EQ(wb.checkpoint_hash, w.checkpoint_hash);
  EXPECT_EQ(wb.to_seq, w.to_seq);
  EXPECT_THROW(ParseWitness("{\"version\":2}"), Error);
  EXPECT_THROW(ParseWitness("[]"), Error);
}

}  // namespace
}  // namespace realdid::audit

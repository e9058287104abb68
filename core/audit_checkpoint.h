// Signed checkpoints of the audit log and the verifier of the whole log (BRIEF section 6): the pure
// part shared by the authority's checkpointer (authority/audit_checkpointer.h), the verifier driver
// (db/audit_verify.h), `realdid audit` and the outside witnesses.
//
// A checkpoint covers the rows (from_seq, to_seq]; checkpoint n starts where n-1 ended and links to
// it by prev_hash = CheckpointHash(n-1) (32 zero bytes for n = 1), so checkpoints form their own
// chain and cannot fork. It carries the row_hash of every row it covers, so a rewrite that
// recomputes every later row hash still differs from a signed row hash at the first changed row.
// Signed body (normative, docs/protocol.md section 9):
//   body = U32BE(27) || "realdid/v1/audit-checkpoint" || U64BE(number) || prev_hash (32)
//        || U64BE(from_seq) || U64BE(to_seq) || head_hash (32) || SHA-256(row_hashes) (32)
//        || U64BE(signed_at) || U32BE(len(kid)) || kid
//   signature = ECDSA P-256 over SHA-256(body), JOSE r||s (64 bytes); checkpoint_hash = SHA-256(body)
// head_hash is the row_hash of row to_seq (the previous checkpoint's head for an empty interval,
// 32 zero bytes when to_seq = 0).
// LogVerifier walks checkpoints (number order) and rows (seq order) and reports the first problem:
// a removed, altered or inserted row (named by seq), a checkpoint that is missing, forged, forked
// or out of order (named by number), or a log shorter than a witness saw.
// Thread-safety: pure functions; a LogVerifier is used by one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/audit_chain.h"
#include "core/bytes.h"
#include "core/json.h"
#include "core/jws.h"

namespace realdid::audit {

inline constexpr std::string_view kCheckpointContext = "realdid/v1/audit-checkpoint";
inline constexpr std::size_t kSignatureLen = 64;
inline constexpr std::size_t kMaxKidLen = 128;

struct Checkpoint {
  std::int64_t number = 0;     // 1, 2, 3 ...
  Bytes prev_hash;             // CheckpointHash of number - 1; 32 zero bytes for number 1
  std::int64_t from_seq = 0;   // covers rows from_seq+1 .. to_seq
  std::int64_t to_seq = 0;
  Bytes head_hash;             // row_hash of row to_seq
  Bytes row_hashes;            // 32 * (to_seq - from_seq) bytes: each covered row's row_hash
  std::int64_t signed_at = 0;  // Unix seconds
  std::string kid;             // RFC 7638 thumbprint of the audit-signing key
  Bytes signature;             // 64 bytes, r || s
};

// The signed body. Throws Error(kInvalidInput) on a malformed field (sizes, ranges, kid charset).
Bytes EncodeCheckpoint(const Checkpoint& c);
Bytes CheckpointHash(const Checkpoint& c);
// The unsigned successor of `prev` (nullptr: the first checkpoint) covering rows prev.to_seq+1 ..
// to_seq whose row hashes are `row_hashes` (concatenated, seq order).
Checkpoint NextCheckpoint(const Checkpoint* prev, std::int64_t to_seq, Bytes row_hashes,
                          std::int64_t signed_at, std::string kid);
// true iff the signature verifies under `key` (a P-256 key); false for any malformed checkpoint.
bool VerifyCheckpointSignature(const Checkpoint& c, const jws::PublicKey& key);

// JSON form used by exports: {"number","prev_hash","from_seq","to_seq","head_hash","row_hashes",
// "signed_at","kid","signature"} with byte strings in base64url. The parser is strict (exact
// member set, exact lengths) and throws Error(kInvalidInput).
json::Value CheckpointToJson(const Checkpoint& c);
Checkpoint CheckpointFromJson(const json::Value& v);

// What a witness remembers: the newest checkpoint it accepted.
struct WitnessState {
  std::int64_t number = 0;
  Bytes checkpoint_hash;  // 32
  std::int64_t to_seq = 0;
  Bytes head_hash;        // 32
  std::int64_t signed_at = 0;
};
WitnessState WitnessOf(const Checkpoint& c);
// {"version":1,"number","checkpoint_hash","to_seq","head_hash","signed_at"}; strict parser.
std::string SerializeWitness(const WitnessState& w);
WitnessState ParseWitness(std::string_view text);

enum class FindingKind {
  kRowRemoved,         // seq: the first missing row
  kRowAltered,         // seq: the first row whose bytes are not what was chained or signed
  kRowLinkBroken,      // seq: a row whose prev_hash is not the previous row's hash
  kCheckpointInvalid,  // checkpoint: missing, unlinked, malformed or with a bad signature
  kWitnessMismatch,    // checkpoint: differs from the copy the witness holds (rewritten history)
  kWitnessRollback,    // the log ends before what the witness saw
};
std::string_view FindingKindName(FindingKind kind) noexcept;

struct Finding {
  FindingKind kind = FindingKind::kRowAltered;
  std::optional<std::int64_t> seq;
  std::optional<std::int64_t> checkpoint;
  std::string reason;  // one line for people; no row content
};

struct LogReport {
  bool ok = true;
  std::optional<Finding> finding;   // the first problem (when !ok)
  std::int64_t rows = 0;            // rows read
  std::int64_t checkpoints = 0;     // checkpoints read
  std::int64_t last_seq = 0;        // the last row's seq
  std::int64_t signed_seq = 0;      // rows up to here are covered by a signed checkpoint
  std::optional<Checkpoint> last_checkpoint;
};

class LogVerifier {
 public:
  // keys: the audit-signing public keys by kid.
  explicit LogVerifier(std::map<std::string, jws::PublicKey> keys);

  // Compare against what a witness saw: its checkpoint must be present, byte-identical, and the log
  // must reach at least its to_seq.
  void ExpectWitness(WitnessState w);
  // For checking an export that starts after the witness's checkpoint: treat `w` as already
  // verified (checkpoints up to w.number are skipped except for the identity check of w.number).
  void AnchorAt(WitnessState w);

  // Checkpoints in number order; returns false once a problem was found.
  bool AddCheckpoint(const Checkpoint& c);
  // Rows in seq order; checkpoints covering a row must have been added before it (covered_seq()).
  bool AddRow(const Row& r);
  // to_seq of the last checkpoint added (0 before any).
  std::int64_t covered_seq() const noexcept { return last_to_; }
  bool failed() const noexcept { return finding_.has_value(); }
  // After every row and every checkpoint was added.
  LogReport Finish(bool rows_were_read = true);

 private:
  void Fail(FindingKind kind, std::optional<std::int64_t> seq, std::optional<std::int64_t> cp,
            std::string reason);
  struct Signed {
    std::int64_t number;
    std::int64_t from;
    std::int64_t to;
    Bytes hashes;
  };

  std::map<std::string, jws::PublicKey> keys_;
  std::optional<WitnessState> witness_;
  std::optional<WitnessState> anchor_;
  bool anchor_confirmed_ = false;
  std::optional<Finding> finding_;
  // checkpoint chain
  std::int64_t last_number_ = 0;
  Bytes last_hash_;
  std::int64_t last_to_ = 0;
  Bytes last_head_;
  std::int64_t last_signed_at_ = 0;
  std::optional<Checkpoint> last_checkpoint_;
  std::int64_t checkpoints_ = 0;
  std::deque<Signed> pending_;
  // row chain
  std::int64_t expected_seq_ = 1;
  Bytes prev_row_hash_;
  std::int64_t rows_ = 0;
};

}  // namespace realdid::audit

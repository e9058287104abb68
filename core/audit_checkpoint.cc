#include "core/audit_checkpoint.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/base64url.h"
#include "core/error.h"
#include "core/hash.h"

namespace realdid::audit {
namespace {

bool ValidKid(std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidLen) return false;
  for (char c : kid) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::uint64_t U(std::int64_t v) { return static_cast<std::uint64_t>(v); }

void CheckShape(const Checkpoint& c) {
  if (c.number < 1) InvalidInput("audit checkpoint: number must be >= 1");
  if (c.prev_hash.size() != kHashLen) InvalidInput("audit checkpoint: prev_hash must be 32 bytes");
  if (c.from_seq < 0 || c.to_seq < c.from_seq) InvalidInput("audit checkpoint: bad interval");
  if (c.head_hash.size() != kHashLen) InvalidInput("audit checkpoint: head_hash must be 32 bytes");
  const std::int64_t n = c.to_seq - c.from_seq;
  if (n > std::numeric_limits<std::int64_t>::max() / 32 ||
      c.row_hashes.size() != static_cast<std::size_t>(n) * kHashLen) {
    InvalidInput("audit checkpoint: row_hashes must be 32 bytes per covered row");
  }
  if (n > 0 && !std::equal(c.head_hash.begin(), c.head_hash.end(),
                           c.row_hashes.end() - static_cast<std::ptrdiff_t>(kHashLen))) {
    InvalidInput("audit checkpoint: head_hash is not the last covered row's hash");
  }
  if (c.signed_at < 0) InvalidInput("audit checkpoint: signed_at must be >= 0");
  if (!ValidKid(c.kid)) InvalidInput("audit checkpoint: malformed kid");
}

const json::Value& Member(const json::Value& v, std::string_view key) {
  const json::Value* m = v.find(key);
  if (m == nullptr) InvalidInput("audit checkpoint: missing \"" + std::string(key) + "\"");
  return *m;
}

std::int64_t Int(const json::Value& v, std::string_view key) {
  const json::Value& m = Member(v, key);
  if (!m.is_int()) InvalidInput("audit: \"" + std::string(key) + "\" must be an integer");
  return m.as_int();
}

Bytes B64(const json::Value& v, std::string_view key) {
  const json::Value& m = Member(v, key);
  if (!m.is_string()) InvalidInput("audit: \"" + std::string(key) + "\" must be a string");
  return b64url::Decode(m.as_string());
}

void ExactMembers(const json::Value& v, std::size_t count, std::string_view what) {
  if (!v.is_object()) InvalidInput(std::string(what) + ": not an object");
  if (v.as_object().size() != count) InvalidInput(std::string(what) + ": unexpected members");
}

std::string Num(std::int64_t v) { return std::to_string(v); }

}  // namespace

Bytes EncodeCheckpoint(const Checkpoint& c) {
  CheckShape(c);
  return Concat({U32BE(static_cast<std::uint32_t>(kCheckpointContext.size())),
                 AsBytes(kCheckpointContext), U64BE(U(c.number)), c.prev_hash, U64BE(U(c.from_seq)),
                 U64BE(U(c.to_seq)), c.head_hash, hash::Sha256(c.row_hashes),
                 U64BE(U(c.signed_at)), U32BE(static_cast<std::uint32_t>(c.kid.size())),
                 AsBytes(c.kid)});
}

Bytes CheckpointHash(const Checkpoint& c) { return hash::Sha256(EncodeCheckpoint(c)); }

Checkpoint NextCheckpoint(const Checkpoint* prev, std::int64_t to_seq, Bytes row_hashes,
                          std::int64_t signed_at, std::string kid) {
  Checkpoint c;
  c.number = prev == nullptr ? 1 : prev->number + 1;
  c.prev_hash = prev == nullptr ? GenesisHash() : CheckpointHash(*prev);
  c.from_seq = prev == nullptr ? 0 : prev->to_seq;
  c.to_seq = to_seq;
  if (row_hashes.size() >= kHashLen) {
    c.head_hash.assign(row_hashes.end() - static_cast<std::ptrdiff_t>(kHashLen), row_hashes.end());
  } else {
    c.head_hash = prev == nullptr ? GenesisHash() : prev->head_hash;
  }
  c.row_hashes = std::move(row_hashes);
  c.signed_at = signed_at;
  c.kid = std::move(kid);
  CheckShape(c);
  return c;
}

bool VerifyCheckpointSignature(const Checkpoint& c, const jws::PublicKey& key) {
  if (key.is_rsa() || c.signature.size() != kSignatureLen) return false;
  try {
    const Bytes body = EncodeCheckpoint(c);
    return jws::VerifyRaw(key, jws::Alg::kES256, ToString(body), c.signature);
  } catch (const Error&) {
    return false;
  }
}

json::Value CheckpointToJson(const Checkpoint& c) {
  json::Value v = json::Object{};
  v.set("number", c.number);
  v.set("prev_hash", b64url::Encode(c.prev_hash));
  v.set("from_seq", c.from_seq);
  v.set("to_seq", c.to_seq);
  v.set("head_hash", b64url::Encode(c.head_hash));
  v.set("row_hashes", b64url::Encode(c.row_hashes));
  v.set("signed_at", c.signed_at);
  v.set("kid", c.kid);
  v.set("signature", b64url::Encode(c.signature));
  return v;
}

Checkpoint CheckpointFromJson(const json::Value& v) {
  ExactMembers(v, 9, "audit checkpoint");
  Checkpoint c;
  c.number = Int(v, "number");
  c.prev_hash = B64(v, "prev_hash");
  c.from_seq = Int(v, "from_seq");
  c.to_seq = Int(v, "to_seq");
  c.head_hash = B64(v, "head_hash");
  c.row_hashes = B64(v, "row_hashes");
  c.signed_at = Int(v, "signed_at");
  const json::Value& kid = Member(v, "kid");
  if (!kid.is_string()) InvalidInput("audit checkpoint: \"kid\" must be a string");
  c.kid = kid.as_string();
  c.signature = B64(v, "signature");
  if (c.signature.size() != kSignatureLen) InvalidInput("audit checkpoint: signature must be 64 bytes");
  CheckShape(c);
  return c;
}

WitnessState WitnessOf(const Checkpoint& c) {
  return WitnessState{c.number, CheckpointHash(c), c.to_seq, c.head_hash, c.signed_at};
}

std::string SerializeWitness(const WitnessState& w) {
  json::Value v = json::Object{};
  v.set("version", 1);
  v.set("number", w.number);
  v.set("checkpoint_hash", b64url::Encode(w.checkpoint_hash));
  v.set("to_seq", w.to_seq);
  v.set("head_hash", b64url::Encode(w.head_hash));
  v.set("signed_at", w.signed_at);
  return json::Serialize(v);
}

WitnessState ParseWitness(std::string_view text) {
  json::Value v = json::Parse(text);
  ExactMembers(v, 6, "witness");
  if (Int(v, "version") != 1) InvalidInput("witness: unsupported version");
  WitnessState w;
  w.number = Int(v, "number");
  w.checkpoint_hash = B64(v, "checkpoint_hash");
  w.to_seq = Int(v, "to_seq");
  w.head_hash = B64(v, "head_hash");
  w.signed_at = Int(v, "signed_at");
  if (w.number < 1 || w.to_seq < 0 || w.signed_at < 0 || w.checkpoint_hash.size() != kHashLen ||
      w.head_hash.size() != kHashLen) {
    InvalidInput("witness: malformed state");
  }
  return w;
}

std::string_view FindingKindName(FindingKind kind) noexcept {
  switch (kind) {
    case FindingKind::kRowRemoved: return "row_removed";
    case FindingKind::kRowAltered: return "row_altered";
    case FindingKind::kRowLinkBroken: return "row_link_broken";
    case FindingKind::kCheckpointInvalid: return "checkpoint_invalid";
    case FindingKind::kWitnessMismatch: return "witness_mismatch";
    case FindingKind::kWitnessRollback: return "witness_rollback";
  }
  return "unknown";
}

LogVerifier::LogVerifier(std::map<std::string, jws::PublicKey> keys)
    : keys_(std::move(keys)),
      last_hash_(GenesisHash()),
      last_head_(GenesisHash()),
      prev_row_hash_(GenesisHash()) {}

void LogVerifier::ExpectWitness(WitnessState w) { witness_ = std::move(w); }

void LogVerifier::AnchorAt(WitnessState w) {
  last_number_ = w.number;
  last_hash_ = w.checkpoint_hash;
  last_to_ = w.to_seq;
  last_head_ = w.head_hash;
  last_signed_at_ = w.signed_at;
  anchor_ = std::move(w);
}

void LogVerifier::Fail(FindingKind kind, std::optional<std::int64_t> seq,
                       std::optional<std::int64_t> cp, std::string reason) {
  if (finding_) return;
  finding_ = Finding{kind, seq, cp, std::move(reason)};
}

bool LogVerifier::AddCheckpoint(const Checkpoint& c) {
  if (failed()) return false;
  ++checkpoints_;
  const std::string name = "checkpoint #" + Num(c.number);
  Bytes hash;
  try {
    hash = CheckpointHash(c);
  } catch (const Error& e) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + ": malformed (" + std::string(e.detail()) + ")");
    return false;
  }
  if (witness_ && c.number == witness_->number && hash != witness_->checkpoint_hash) {
    Fail(FindingKind::kWitnessMismatch, std::nullopt, c.number,
         name + " differs from the copy the witness holds: history was rewritten");
    return false;
  }
  if (anchor_ && c.number <= anchor_->number) {
    if (c.number == anchor_->number && hash != anchor_->checkpoint_hash) {
      Fail(FindingKind::kWitnessMismatch, std::nullopt, c.number,
           name + " differs from the copy the witness holds: history was rewritten");
      return false;
    }
    if (c.number == anchor_->number) anchor_confirmed_ = true;
    return true;  // history the witness accepted before
  }
  if (c.number != last_number_ + 1) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, last_number_ + 1,
         "checkpoint #" + Num(last_number_ + 1) + " is missing (next present: #" + Num(c.number) +
             ")");
    return false;
  }
  if (c.prev_hash != last_hash_) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + " does not link to checkpoint #" + Num(last_number_) + " (forked or altered)");
    return false;
  }
  if (c.from_seq != last_to_) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + " does not start where checkpoint #" + Num(last_number_) + " ended");
    return false;
  }
  if (c.to_seq == c.from_seq && c.head_hash != last_head_) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + ": head_hash of an empty interval is not the previous head");
    return false;
  }
  if (c.signed_at < last_signed_at_) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + ": signed_at goes backwards");
    return false;
  }
  auto key = keys_.find(c.kid);
  if (key == keys_.end()) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + ": signed by an unknown key");
    return false;
  }
  if (!VerifyCheckpointSignature(c, key->second)) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, c.number,
         name + ": signature does not verify (forged or altered)");
    return false;
  }
  if (c.to_seq > c.from_seq) pending_.push_back(Signed{c.number, c.from_seq, c.to_seq, c.row_hashes});
  last_number_ = c.number;
  last_hash_ = std::move(hash);
  last_to_ = c.to_seq;
  last_head_ = c.head_hash;
  last_signed_at_ = c.signed_at;
  last_checkpoint_ = c;
  if (anchor_) anchor_confirmed_ = true;  // linked to the witness's checkpoint (or to one that does)
  return true;
}

bool LogVerifier::AddRow(const Row& r) {
  if (failed()) return false;
  ++rows_;
  const std::string name = "row " + Num(r.seq);
  if (anchor_) {
    Fail(FindingKind::kCheckpointInvalid, std::nullopt, std::nullopt,
         "internal: rows cannot be checked against an anchored export");
    return false;
  }
  if (r.seq != expected_seq_) {
    if (r.seq > expected_seq_) {
      Fail(FindingKind::kRowRemoved, expected_seq_, std::nullopt,
           "row " + Num(expected_seq_) + " is missing (removed); next present row is " + Num(r.seq));
    } else {
      Fail(FindingKind::kRowAltered, r.seq, std::nullopt, name + " is out of order");
    }
    return false;
  }
  if (r.prev_hash != prev_row_hash_) {
    Fail(FindingKind::kRowLinkBroken, r.seq, std::nullopt,
         name + ": prev_hash is not the hash of row " + Num(r.seq - 1) +
             " (this row or the one before it was altered, or it was inserted)");
    return false;
  }
  Bytes h;
  try {
    h = RowHash(r.seq, r.prev_hash, r.kind, r.content);
  } catch (const Error&) {
    Fail(FindingKind::kRowAltered, r.seq, std::nullopt, name + " is malformed");
    return false;
  }
  if (h != r.row_hash) {
    Fail(FindingKind::kRowAltered, r.seq, std::nullopt,
         name + " was altered: its row_hash does not match its content");
    return false;
  }
  while (!pending_.empty() && pending_.front().to < r.seq) pending_.pop_front();
  if (!pending_.empty() && pending_.front().from < r.seq) {
    const Signed& s = pending_.front();
    const auto off = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r.seq - s.from - 1) * kHashLen);
    if (!std::equal(h.begin(), h.end(), s.hashes.begin() + off)) {
      Fail(FindingKind::kRowAltered, r.seq, std::nullopt,
           name + " differs from what signed checkpoint #" + Num(s.number) +
               " recorded (altered, inserted, or rewritten with later hashes recomputed)");
      return false;
    }
  }
  prev_row_hash_ = std::move(h);
  ++expected_seq_;
  return true;
}

LogReport LogVerifier::Finish(bool rows_were_read) {
  const std::int64_t last_seq = expected_seq_ - 1;
  if (!failed() && rows_were_read && last_to_ > last_seq) {
    Fail(FindingKind::kRowRemoved, last_seq + 1, last_number_,
         "rows " + Num(last_seq + 1) + ".." + Num(last_to_) + " are missing: checkpoint #" +
             Num(last_number_) + " covers up to row " + Num(last_to_) + " (truncated)");
  }
  if (!failed() && anchor_ && !anchor_confirmed_) {
    Fail(FindingKind::kWitnessRollback, std::nullopt, anchor_->number,
         "rolled back: the export does not reach checkpoint #" + Num(anchor_->number) +
             " that the witness saw");
  }
  if (!failed() && witness_) {
    if (last_number_ < witness_->number) {
      std::optional<std::int64_t> seq;
      if (rows_were_read && last_seq < witness_->to_seq) seq = last_seq + 1;
      Fail(FindingKind::kWitnessRollback, seq, witness_->number,
           "rolled back: the witness saw checkpoint #" + Num(witness_->number) + " covering row " +
               Num(witness_->to_seq) + ", the log has checkpoints only up to #" +
               Num(last_number_));
    } else if (rows_were_read && last_seq < witness_->to_seq) {
      Fail(FindingKind::kWitnessRollback, last_seq + 1, witness_->number,
           "rolled back: the witness saw rows up to " + Num(witness_->to_seq) +
               ", the log ends at " + Num(last_seq));
    }
  }
  LogReport rep;
  rep.ok = !failed();
  rep.finding = finding_;
  rep.rows = rows_;
  rep.checkpoints = checkpoints_;
  rep.last_seq = last_seq;
  rep.signed_seq = last_to_;
  rep.last_checkpoint = last_checkpoint_;
  return rep;
}

}  // namespace realdid::audit

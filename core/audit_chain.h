// The hash chain of the audit log (BRIEF section 6): the pure encoding shared by the writer
// (db/audit_store.h), the chain verifier and the auditors' tools.
//
// Row encoding (normative):
//   row = U64BE(seq) || U32BE(len(prev_hash)) || prev_hash || U32BE(len(kind)) || kind
//                    || U32BE(len(content)) || content
//   row_hash = SHA-256(row)
// seq starts at 1; the first row's prev_hash is 32 zero bytes (kGenesisHash); every later row's
// prev_hash is the previous row's row_hash. kind is ASCII [a-z][a-z0-9_.]{0,63}; content is the
// exact bytes stored (for the issuance service: canonical JSON without identity data).
// Verify() walks rows in seq order and names the first row that breaks the chain (a gap or
// reordering in seq, a prev_hash not equal to the previous row_hash, a row_hash not equal to the
// recomputed one). A rewrite that recomputes every later hash is caught only against a signed
// checkpoint or an outside witness (the expected head hash).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace realdid::audit {

inline constexpr std::size_t kHashLen = 32;
Bytes GenesisHash();  // 32 zero bytes

// Throws Error(kInvalidInput) on seq 0, a prev_hash not 32 bytes or a malformed kind.
Bytes EncodeRow(std::int64_t seq, ByteView prev_hash, std::string_view kind, ByteView content);
Bytes RowHash(std::int64_t seq, ByteView prev_hash, std::string_view kind, ByteView content);

struct Row {
  std::int64_t seq = 0;
  Bytes prev_hash;
  Bytes row_hash;
  std::string kind;
  Bytes content;
};

struct VerifyResult {
  bool ok = true;
  std::optional<std::int64_t> first_bad_seq;  // seq of the first offending row (if !ok)
  std::string reason;                          // "seq gap", "prev_hash mismatch", "row_hash mismatch"
};
// rows: a prefix of the log starting at seq 1, in seq order.
VerifyResult Verify(const std::vector<Row>& rows);

}  // namespace realdid::audit

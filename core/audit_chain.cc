#include "core/audit_chain.h"

#include <limits>

#include "core/error.h"
#include "core/hash.h"

namespace realdid::audit {
namespace {

bool ValidKind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64) return false;
  if (kind[0] < 'a' || kind[0] > 'z') return false;
  for (char c : kind) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Bytes LengthPrefixed(ByteView v) {
  if (v.size() > std::numeric_limits<std::uint32_t>::max()) InvalidInput("audit: field too long");
  return Concat({U32BE(static_cast<std::uint32_t>(v.size())), v});
}

}  // namespace

Bytes GenesisHash() { return Bytes(kHashLen, 0); }

Bytes EncodeRow(std::int64_t seq, ByteView prev_hash, std::string_view kind, ByteView content) {
  if (seq < 1) InvalidInput("audit: seq must be >= 1");
  if (prev_hash.size() != kHashLen) InvalidInput("audit: prev_hash must be 32 bytes");
  if (!ValidKind(kind)) InvalidInput("audit: malformed kind");
  return Concat({U64BE(static_cast<std::uint64_t>(seq)), LengthPrefixed(prev_hash),
                 LengthPrefixed(AsBytes(kind)), LengthPrefixed(content)});
}

Bytes RowHash(std::int64_t seq, ByteView prev_hash, std::string_view kind, ByteView content) {
  return hash::Sha256(EncodeRow(seq, prev_hash, kind, content));
}

VerifyResult Verify(const std::vector<Row>& rows) {
  Bytes prev = GenesisHash();
  std::int64_t expected = 1;
  for (const Row& r : rows) {
    VerifyResult bad;
    bad.ok = false;
    bad.first_bad_seq = r.seq;
    if (r.seq != expected) {
      bad.reason = "seq gap";
      return bad;
    }
    if (r.prev_hash != prev) {
      bad.reason = "prev_hash mismatch";
      return bad;
    }
    Bytes h;
    try {
      h = RowHash(r.seq, r.prev_hash, r.kind, r.content);
    } catch (const Error&) {
      bad.reason = "malformed row";
      return bad;
    }
    if (h != r.row_hash) {
      bad.reason = "row_hash mismatch";
      return bad;
    }
    prev = h;
    ++expected;
  }
  return {};
}

}  // namespace realdid::audit

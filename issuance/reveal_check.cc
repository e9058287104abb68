#include "issuance/reveal_check.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace realdid::issuance {

std::optional<std::string> FindCheatInOpenings(const candidate::Context& context,
                                               ByteView blob, std::size_t k,
                                               const std::vector<IndexedOpening>& openings) {
  const std::size_t modlen = context.signing_key.modulus_len();
  const std::size_t chunk = modlen + candidate::kTraceSize;
  if (blob.size() != chunk * k) Fail(ErrorKind::kInternal, "stored commit has the wrong size");
  auto committed_b = [&](std::size_t i) { return blob.subspan(i * chunk, modlen); };
  auto committed_trace = [&](std::size_t i) {
    return blob.subspan(i * chunk + modlen, candidate::kTraceSize);
  };
  // Repeated values across all k committed candidates.
  std::set<Bytes> seen_b;
  std::set<Bytes> seen_trace_enc;
  for (std::size_t i = 0; i < k; ++i) {
    ByteView b = committed_b(i);
    ByteView t = committed_trace(i);
    if (!seen_b.emplace(b.begin(), b.end()).second) return "repeated blinded message";
    if (!seen_trace_enc.emplace(t.begin(), t.begin() + hpke::kNenc).second) {
      return "repeated trace enc";
    }
  }

  std::set<Bytes> seen_r, seen_salt, seen_jti, seen_holder, seen_escrow_enc;
  for (const IndexedOpening& io : openings) {
    const candidate::Opening& o = io.opening;
    const std::string where = "candidate " + std::to_string(io.index) + ": ";
    if (io.index >= k) Fail(ErrorKind::kInternal, "opening index out of range");
    if (!seen_r.emplace(o.r.begin(), o.r.end()).second) return where + "repeated r";
    if (!seen_salt.emplace(o.pss_salt.begin(), o.pss_salt.end()).second) {
      return where + "repeated pss_salt";
    }
    if (!seen_jti.emplace(o.jti.begin(), o.jti.end()).second) return where + "repeated jti";
    if (!seen_holder.insert(Concat({o.holder_x, o.holder_y})).second) {
      return where + "repeated holder key";
    }
    try {
      const candidate::Candidate rebuilt = candidate::Rebuild(context, o);
      if (!seen_escrow_enc.insert(rebuilt.escrow.enc).second) return where + "repeated escrow enc";
      const Bytes& blinded = rebuilt.blinding.blinded_msg;
      ByteView b = committed_b(io.index);
      if (!std::equal(b.begin(), b.end(), blinded.begin(), blinded.end())) {
        return where + "blinded message does not match its opening";
      }
      const Bytes t = rebuilt.TraceBytes();
      ByteView ct = committed_trace(io.index);
      if (!std::equal(ct.begin(), ct.end(), t.begin(), t.end())) {
        return where + "trace does not match its opening";
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidInput && e.kind() != ErrorKind::kCryptoFailure) throw;
      return where + "opening does not rebuild a valid candidate";
    }
  }
  // Every rebuilt (= committed) blinded message is coprime with n, as Derive requires of each
  // candidate: checked once, on their product (blind_rsa::AllCoprimeWithModulus).
  std::vector<ByteView> opened_b;
  opened_b.reserve(openings.size());
  for (const IndexedOpening& io : openings) opened_b.push_back(committed_b(io.index));
  if (!blind_rsa::AllCoprimeWithModulus(context.signing_key, opened_b)) {
    return "an opening's message or r is not coprime with the modulus";
  }
  return std::nullopt;
}

}  // namespace realdid::issuance

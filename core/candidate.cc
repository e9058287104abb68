#include "core/candidate.h"

#include <openssl/crypto.h>

#include <cstdint>

#include "core/error.h"
#include "core/jwk.h"

namespace realdid::candidate {
namespace {

// Wipes the derivation's plain-Bytes copies of opened values on every exit path.
struct Scratch {
  escrow::CredentialFields fields;
  credential::CandidateOpening opening;

  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    Wipe(fields.jti);
    Wipe(opening.holder_x);
    Wipe(opening.holder_y);
    Wipe(opening.jti);
    for (Bytes& salt : opening.salts) Wipe(salt);
    Wipe(opening.escrow);
  }
  static void Wipe(Bytes& b) noexcept {
    if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
  }
};

Bytes Copy(ByteView v) { return Bytes(v.begin(), v.end()); }

}  // namespace

Bytes Candidate::TraceBytes() const { return Concat({trace.enc, trace.ct}); }

namespace {

enum class Blinding { kFull, kMessageOnly };

Candidate DeriveWith(const Context& context, const Opening& opening, Blinding blinding) {
  const credential::SessionValues& s = context.session;
  if (s.iat < 0 || s.exp < 0) InvalidInput("candidate: iat and exp must not be negative");
  Candidate c;
  c.cnf_thumbprint = jwk::ThumbprintSha256(jwk::EcP256Public(opening.holder_x, opening.holder_y));

  Scratch scratch;
  escrow::CredentialFields& fields = scratch.fields;
  fields.kid = s.kid;
  fields.iat = static_cast<std::uint64_t>(s.iat);
  fields.exp = static_cast<std::uint64_t>(s.exp);
  fields.jti = Copy(opening.jti);
  fields.cnf_thumbprint = c.cnf_thumbprint;
  c.escrow = escrow::SealEscrow(context.escrow_public_key, s.escrow_kid, fields,
                                context.issuance_id, opening.escrow_ikm);

  credential::CandidateOpening& co = scratch.opening;
  co.holder_x = Copy(opening.holder_x);
  co.holder_y = Copy(opening.holder_y);
  co.jti = Copy(opening.jti);
  for (std::size_t i = 0; i < credential::kNumDisclosed; ++i) co.salts[i] = Copy(opening.salts[i]);
  co.escrow = Concat({c.escrow.enc, c.escrow.ct});
  c.credential = credential::Build(s, co);

  if (blinding == Blinding::kFull) {
    c.blinding = blind_rsa::BlindWith(context.signing_key, AsBytes(c.credential.signing_input),
                                      opening.pss_salt, opening.r);
  } else {
    c.blinding.salt = Secret(opening.pss_salt);
    c.blinding.r = Secret(opening.r);
    c.blinding.blinded_msg = blind_rsa::BlindedMessage(
        context.signing_key, AsBytes(c.credential.signing_input), opening.pss_salt, opening.r);
  }
  c.trace = escrow::SealTrace(context.escrow_public_key, s.escrow_kid, fields, context.issuance_id,
                              c.escrow, opening.trace_ikm);
  return c;
}

}  // namespace

Candidate Derive(const Context& context, const Opening& opening) {
  return DeriveWith(context, opening, Blinding::kFull);
}

Candidate Rebuild(const Context& context, const Opening& opening) {
  return DeriveWith(context, opening, Blinding::kMessageOnly);
}

}  // namespace realdid::candidate

// libFuzzer target: the Privacy Pass parsers of core/privacypass.h (TokenChallenge, TokenRequest,
// TokenResponse, Token, QUIC varints, generic batch request/response, the issuer directory, the
// PrivateToken Authorization value) and the issuer-side request check against the RFC 9578 vector
// key. Only realdid::Error may escape; whatever parses must re-serialize to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/blind_rsa.h"
#include "core/error.h"
#include "core/privacypass.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)
namespace pp = realdid::privacypass;

// SubjectPublicKeyInfo (id-RSASSA-PSS) of pub_verif_rfc9578.go.json vector 0.
constexpr const char* kSpkiHex =
    "30820152303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d010108300b0609608648016503040202a2030201300382010f003082010a0282010100cb1aed6b6a95f5b1ce013a4cfcab25b94b2e64a23034e4250a7eab43c0df3a8c12993af12b111908d4b471bec31d4b6c9ad9cdda90612a2ee903523e6de5a224d6b02f09e5c374d0cfe01d8f529c500a78a2f67908fa682b5a2b430c81eaf1af72d7b5e794fc98a3139276879757ce453b526ef9bf6ceb99979b8423b90f4461a22af37aab0cf5733f7597abe44d31c732db68a181c6cbbe607d8c0e52e0655fd9996dc584eca0be87afbcd78a337d17b1dba9e828bbd81e291317144e7ff89f55619709b096cbb9ea474cead264c2073fe49740c01f00e109106066983d21e5f83f086e2e823c879cd43cef700d2a352a9babd612d03cad02db134b7e225a5f0203010001";

const Bytes& Spki() {
  static const Bytes spki = FromHex(kSpkiHex);
  return spki;
}
const blind_rsa::PublicKey& Key() {
  static const blind_rsa::PublicKey pk = blind_rsa::PublicKey::FromSpkiDer(Spki());
  return pk;
}

void Same(const Bytes& a, ByteView b) {
  if (a != Bytes(b.begin(), b.end())) __builtin_trap();
}

void Run(fuzz::Input& in) {
  const std::uint8_t op = in.Byte();
  const Bytes rest = in.Rest();
  switch (op % 9) {
    case 0:
      Same(pp::TokenChallenge::Parse(rest).Serialize(), rest);
      break;
    case 1: {
      const pp::TokenRequest r = pp::TokenRequest::Parse(rest);
      Same(r.Serialize(), rest);
      pp::CheckTokenRequest(r, Key(), pp::TokenKeyId(Spki()));
      break;
    }
    case 2:
      (void)pp::ParseTokenResponse(rest);
      break;
    case 3: {
      const pp::Token t = pp::Token::Parse(rest);
      Same(t.Serialize(), rest);
      (void)pp::VerifyToken(Key(), Spki(), t, ByteView(rest));
      break;
    }
    case 4: {
      const auto [v, used] = pp::DecodeVarint(rest);
      if (used > rest.size() || used == 0) __builtin_trap();
      if (pp::DecodeVarint(pp::EncodeVarint(v)).first != v) __builtin_trap();
      break;
    }
    case 5: {
      const auto reqs = pp::ParseBatchRequest(rest, 64);
      if (reqs.empty() || reqs.size() > 64) __builtin_trap();
      for (const pp::TokenRequest& r : reqs) pp::CheckTokenRequest(r, Key(), pp::TokenKeyId(Spki()));
      break;
    }
    case 6: {
      const auto sigs = pp::ParseBatchResponse(rest, 64);
      if (sigs.size() > 64) __builtin_trap();
      break;
    }
    case 7:
      (void)pp::ParseDirectory(ToString(rest));
      break;
    case 8:
      (void)pp::TokenFromAuthorization(ToString(rest));
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  realdid::fuzz::Input in(data, size);
  try {
    Run(in);
  } catch (const realdid::Error&) {
    // Refusing bad input is the expected outcome.
  }
  return 0;
}

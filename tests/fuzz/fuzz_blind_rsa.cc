// libFuzzer target: RFC 9474 parsing, verification, blinding and finalization on arbitrary inputs
// against a fixed 2048-bit public key (RFC 9578 vector key). Only realdid::Error may escape the API;
// any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/blind_rsa.h"
#include "core/error.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace realdid;  // NOLINT(google-build-using-namespace)

// SubjectPublicKeyInfo (id-RSASSA-PSS) of pub_verif_rfc9578.go.json vector 0.
constexpr const char* kSpkiHex =
    "30820152303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d010108300b0609608648016503040202a2030201300382010f003082010a0282010100cb1aed6b6a95f5b1ce013a4cfcab25b94b2e64a23034e4250a7eab43c0df3a8c12993af12b111908d4b471bec31d4b6c9ad9cdda90612a2ee903523e6de5a224d6b02f09e5c374d0cfe01d8f529c500a78a2f67908fa682b5a2b430c81eaf1af72d7b5e794fc98a3139276879757ce453b526ef9bf6ceb99979b8423b90f4461a22af37aab0cf5733f7597abe44d31c732db68a181c6cbbe607d8c0e52e0655fd9996dc584eca0be87afbcd78a337d17b1dba9e828bbd81e291317144e7ff89f55619709b096cbb9ea474cead264c2073fe49740c01f00e109106066983d21e5f83f086e2e823c879cd43cef700d2a352a9babd612d03cad02db134b7e225a5f0203010001";

const blind_rsa::PublicKey& Key() {
  static const blind_rsa::PublicKey pk =
      blind_rsa::PublicKey::FromSpkiDer(FromHex(kSpkiHex), blind_rsa::ExponentPolicy::kAnyOdd);
  return pk;
}

void Run(fuzz::Input& in) {
  const std::uint8_t op = in.Byte();
  const std::uint8_t flags = in.Byte();
  const std::size_t salt_len = (flags & 1) != 0 ? blind_rsa::kSaltLen : 0;
  const blind_rsa::PublicKey& pk = Key();
  switch (op % 7) {
    case 0:
      blind_rsa::PublicKey::FromSpkiDer(in.Rest(), blind_rsa::ExponentPolicy::kAnyOdd);
      break;
    case 1: {
      const Bytes n = in.Part();
      blind_rsa::PublicKey::FromComponents(n, in.Rest(), blind_rsa::ExponentPolicy::kAnyOdd);
      break;
    }
    case 2: {
      const Bytes msg = in.Part();
      const Bytes sig = in.Rest();
      (void)blind_rsa::Verify(pk, msg, sig, salt_len);
      (void)blind_rsa::Verify(pk, msg, sig, flags);  // any salt length, including invalid ones
      break;
    }
    case 3: {
      const Bytes msg = in.Part();
      const Bytes blind_sig = in.Part();
      const Secret inv(in.Rest());
      const Bytes sig = blind_rsa::Finalize(pk, msg, blind_sig, inv, salt_len);
      if (!blind_rsa::Verify(pk, msg, sig, salt_len)) __builtin_trap();  // Finalize checked it
      break;
    }
    case 4: {
      const Bytes msg = in.Part();
      const Bytes salt = in.Part();
      const Bytes r = in.Rest();
      const blind_rsa::Blinding b = blind_rsa::BlindWith(pk, msg, salt, r);
      if (b.blinded_msg.size() != pk.modulus_len() || b.inv.size() != pk.modulus_len()) {
        __builtin_trap();
      }
      break;
    }
    case 5: {
      const Bytes blinded = in.Part();
      blind_rsa::CheckBlindSignature(pk, blinded, in.Rest());
      break;
    }
    default: {
      const Bytes msg = in.Part();
      const Bytes salt = in.Rest();
      const std::size_t em_bits = 8 + std::size_t{flags} * 16;
      const Bytes em = blind_rsa::EmsaPssEncodeSha384(msg, salt, em_bits);
      if (em.size() != (em_bits + 7) / 8) __builtin_trap();
      break;
    }
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

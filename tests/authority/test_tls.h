// Test support: a throwaway CA and server certificate (OpenSSL API), written as PEM files into a
// temporary directory, and a Poco HTTPS client that trusts only that CA.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace realdid::testing {

struct EvpKeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using EvpKeyPtr = std::unique_ptr<EVP_PKEY, EvpKeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("openssl: ") + what);
}

inline EvpKeyPtr NewP256Key() {
  EvpKeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

inline void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

inline X509Ptr MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                        long serial) {
  X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  if (ca) {
    AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature");
    AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth,clientAuth");
    AddExt(cert.get(), iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  Check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

inline void WritePem(const std::filesystem::path& p, X509* cert) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  Check(f != nullptr, "fopen");
  Check(PEM_write_X509(f, cert) == 1, "PEM_write_X509");
  std::fclose(f);
}
inline void WritePem(const std::filesystem::path& p, EVP_PKEY* key) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  Check(f != nullptr, "fopen");
  Check(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write");
  std::fclose(f);
}

// A temp directory with ca.pem, server.pem, server.key (and other-ca.pem, an unrelated CA).
class TestPki {
 public:
  TestPki() {
    char tmpl[] = "/tmp/realdid-pki-XXXXXX";
    char* d = ::mkdtemp(tmpl);
    Check(d != nullptr, "mkdtemp");
    dir_ = d;
    EvpKeyPtr ca_key = NewP256Key();
    X509Ptr ca = MakeCert(ca_key.get(), "RealDID Test CA", nullptr, nullptr, true, 1);
    EvpKeyPtr server_key = NewP256Key();
    X509Ptr server = MakeCert(server_key.get(), "localhost", ca.get(), ca_key.get(), false, 2);
    EvpKeyPtr other_key = NewP256Key();
    X509Ptr other = MakeCert(other_key.get(), "Other CA", nullptr, nullptr, true, 3);
    WritePem(ca_file(), ca.get());
    WritePem(cert_file(), server.get());
    WritePem(key_file(), server_key.get());
    WritePem(other_ca_file(), other.get());
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string other_ca_file() const { return (dir_ / "other-ca.pem").string(); }
  std::string cert_file() const { return (dir_ / "server.pem").string(); }
  std::string key_file() const { return (dir_ / "server.key").string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;
};

inline Poco::Net::Context::Ptr ClientContext(const std::string& ca_file) {
  Poco::Net::Context::Params params;
  params.caLocation = ca_file;
  params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  params.loadDefaultCAs = false;
  return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
}

inline ClientResponse ReadResponse(Poco::Net::HTTPClientSession& session) {
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  ClientResponse out;
  out.status = static_cast<int>(resp.getStatus());
  out.content_type = resp.getContentType();
  for (const auto& [k, v] : resp) out.headers[k] = v;
  std::ostringstream ss;
  ss << in.rdbuf();
  out.body = ss.str();
  return out;
}

}  // namespace realdid::testing

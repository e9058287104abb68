#include "tools/admin/principal_admin.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "core/error.h"
#include "core/hash.h"

namespace realdid::admin {
namespace {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ParsePem(std::string_view pem, const char* what) {
  if (pem.size() > std::size_t{64} * 1024) InvalidInput(std::string(what) + ": too large");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) Fail(ErrorKind::kInternal, "BIO_new_mem_buf failed");
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) InvalidInput(std::string(what) + ": not a PEM certificate");
  return X509Ptr(x);
}

Bytes Der(X509* x) {
  int len = i2d_X509(x, nullptr);
  if (len <= 0) InvalidInput("certificate cannot be DER-encoded");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(x, &p) != len) Fail(ErrorKind::kInternal, "i2d_X509 failed");
  return der;
}

std::string Subject(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) Fail(ErrorKind::kInternal, "BIO_new failed");
  X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return out;
}

}  // namespace

CertificateInfo InspectClientCertificate(std::string_view cert_pem, std::string_view ca_pem) {
  X509Ptr cert = ParsePem(cert_pem, "certificate");
  // X509_check_ca: 0 = not a CA; anything else (CA:TRUE, keyCertSign, v1 self-signed) is a CA.
  if (X509_check_ca(cert.get()) != 0) {
    InvalidInput("certificate is a CA certificate; the CA is not an operator role");
  }
  const std::uint32_t ku = X509_get_key_usage(cert.get());
  if (ku != UINT32_MAX && (ku & KU_KEY_CERT_SIGN) != 0) {
    InvalidInput("certificate may sign certificates (keyCertSign); refused");
  }
  if ((X509_get_extension_flags(cert.get()) & EXFLAG_SS) != 0) {
    InvalidInput("certificate is self-signed; refused");
  }
  if (X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    InvalidInput("certificate is not valid for TLS client authentication");
  }
  CertificateInfo info;
  info.der = Der(cert.get());
  info.sha256 = hash::Sha256(info.der);
  info.subject = Subject(cert.get());
  if (info.subject.empty()) InvalidInput("certificate has an empty subject");
  if (!ca_pem.empty()) {
    X509Ptr ca = ParsePem(ca_pem, "CA certificate");
    if (hash::Sha256(Der(ca.get())) == info.sha256) {
      InvalidInput("certificate is the CA certificate; the CA is not an operator role");
    }
    EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
    if (ca_key == nullptr || X509_check_issued(ca.get(), cert.get()) != X509_V_OK ||
        X509_verify(cert.get(), ca_key) != 1) {
      InvalidInput("certificate was not issued by the given CA");
    }
  }
  return info;
}

std::int64_t AddPrincipal(db::Pool& owner_pool, const CertificateInfo& cert,
                          std::string_view role) {
  if (role != "operator" && role != "auditor" && role != "administrator") {
    InvalidInput("role must be operator, auditor or administrator");
  }
  return owner_pool.Run("principal_add", [&](db::Tx& tx) {
    return tx
        .Exec("INSERT INTO principals (cert_sha256, subject, role) VALUES ($1, $2, $3) "
              "RETURNING id",
              {ByteView(cert.sha256), cert.subject, std::string(role)})
        .One()
        .GetInt64("id");
  });
}

bool DisablePrincipal(db::Pool& owner_pool, ByteView cert_sha256) {
  return owner_pool.Run("principal_disable", [&](db::Tx& tx) {
    return tx
               .Exec("UPDATE principals SET disabled_at = now() "
                     "WHERE cert_sha256 = $1 AND disabled_at IS NULL",
                     {cert_sha256})
               .affected_rows() == 1;
  });
}

std::vector<PrincipalRow> ListPrincipals(db::Pool& pool) {
  return pool.Run("principal_list", db::TxOptions{db::Isolation::kReadCommitted, true},
                  [&](db::Tx& tx) {
                    db::Result r = tx.Exec(
                        "SELECT id, subject, cert_sha256, role, created_at::text AS created_at, "
                        "disabled_at::text AS disabled_at FROM principals ORDER BY id");
                    std::vector<PrincipalRow> out;
                    for (std::size_t i = 0; i < r.size(); ++i) {
                      db::Row row = r[i];
                      out.push_back(PrincipalRow{row.GetInt64("id"), row.GetString("subject"),
                                                 row.GetBytes("cert_sha256"), row.GetString("role"),
                                                 row.GetString("created_at"),
                                                 row.GetOptString("disabled_at")});
                    }
                    return out;
                  });
}

}  // namespace realdid::admin

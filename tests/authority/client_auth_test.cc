// Principals and roles against a real PostgreSQL (migration 0004): Authorize() outcomes, the
// owner-only writes, the append-only guard, and realdid-admin's certificate rules (a CA
// certificate is never a principal).
#include "authority/client_auth.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "db/db_error.h"
#include "tests/authority/test_tls.h"
#include "tests/support/pg_harness.h"
#include "tools/admin/principal_admin.h"

namespace realdid::authority {
namespace {

using realdid::testing::EvpKeyPtr;
using realdid::testing::MakeCert;
using realdid::testing::NewP256Key;
using realdid::testing::PgHarness;
using realdid::testing::PgRole;
using realdid::testing::X509Ptr;

std::string Pem(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::vector<std::uint8_t> Der(X509* x) {
  int len = i2d_X509(x, nullptr);
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(x, &p);
  return der;
}

ErrorKind KindOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ErrorKind::kInternal;
}

class ClientAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new PgHarness();
    pg_->Migrate();
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    owner_ = pg_->MakePool(PgRole::kOwner);
    authority_ = pg_->MakePool(PgRole::kAuthority);
    ca_key_ = NewP256Key();
    ca_ = MakeCert(ca_key_.get(), "Internal CA", nullptr, nullptr, true, 1);
  }
  X509Ptr Leaf(const char* cn, long serial) {
    EvpKeyPtr k = NewP256Key();
    return MakeCert(k.get(), cn, ca_.get(), ca_key_.get(), false, serial);
  }
  HttpRequest WithCert(X509* x) {
    HttpRequest r;
    r.peer_certificate_der = Der(x);
    return r;
  }

  static PgHarness* pg_;
  std::unique_ptr<db::Pool> owner_;
  std::unique_ptr<db::Pool> authority_;
  EvpKeyPtr ca_key_;
  X509Ptr ca_;
};
PgHarness* ClientAuthTest::pg_ = nullptr;

TEST_F(ClientAuthTest, RoleNamesRoundTrip) {
  for (Role r : {Role::kOperator, Role::kAuditor, Role::kAdministrator}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(RoleName(Role::kOperator), "operator");
  EXPECT_EQ(RoleName(Role::kAuditor), "auditor");
  EXPECT_EQ(RoleName(Role::kAdministrator), "administrator");
  EXPECT_FALSE(ParseRole("ca").has_value());
  EXPECT_FALSE(ParseRole("Operator").has_value());
}

TEST_F(ClientAuthTest, AuthorizeOutcomes) {
  X509Ptr op = Leaf("op", 10);
  X509Ptr aud = Leaf("aud", 11);
  X509Ptr stranger = Leaf("stranger", 12);
  admin::CertificateInfo op_info = admin::InspectClientCertificate(Pem(op.get()), Pem(ca_.get()));
  EXPECT_EQ(op_info.sha256, CertificateFingerprint(Der(op.get())));
  EXPECT_EQ(op_info.subject, "CN=op");
  const std::int64_t op_id = admin::AddPrincipal(*owner_, op_info, "operator");
  admin::AddPrincipal(*owner_, admin::InspectClientCertificate(Pem(aud.get()), Pem(ca_.get())),
                      "auditor");

  // No certificate: 401.
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, HttpRequest{}, {Role::kOperator}); }),
            ErrorKind::kUnauthorized);
  // Unknown certificate: 403.
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, WithCert(stranger.get()), {Role::kOperator}); }),
            ErrorKind::kForbidden);
  // Wrong role: 403.
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, WithCert(aud.get()), {Role::kOperator}); }),
            ErrorKind::kForbidden);
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, WithCert(op.get()), {}); }),
            ErrorKind::kForbidden);
  // Right role.
  Principal p = Authorize(*authority_, WithCert(op.get()), {Role::kAuditor, Role::kOperator});
  EXPECT_EQ(p.id, op_id);
  EXPECT_EQ(p.role, Role::kOperator);
  EXPECT_EQ(p.subject, "CN=op");
  EXPECT_EQ(p.cert_sha256, op_info.sha256);
  // A certificate differing in one byte is a stranger.
  HttpRequest tampered = WithCert(op.get());
  tampered.peer_certificate_der.back() ^= 1;
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, tampered, {Role::kOperator}); }),
            ErrorKind::kForbidden);
  // Disabled: 403, and it stays disabled.
  ASSERT_TRUE(admin::DisablePrincipal(*owner_, op_info.sha256));
  EXPECT_FALSE(admin::DisablePrincipal(*owner_, op_info.sha256));
  EXPECT_EQ(KindOf([&] { Authorize(*authority_, WithCert(op.get()), {Role::kOperator}); }),
            ErrorKind::kForbidden);
  // The warrant role may read principals too.
  auto warrant = pg_->MakePool(PgRole::kWarrant);
  Principal a = Authorize(*warrant, WithCert(aud.get()), {Role::kAuditor});
  EXPECT_EQ(a.role, Role::kAuditor);
}

TEST_F(ClientAuthTest, DuplicateCertificateRefused) {
  X509Ptr x = Leaf("dup", 20);
  auto info = admin::InspectClientCertificate(Pem(x.get()), Pem(ca_.get()));
  admin::AddPrincipal(*owner_, info, "administrator");
  EXPECT_EQ(KindOf([&] { admin::AddPrincipal(*owner_, info, "operator"); }), ErrorKind::kConflict);
  EXPECT_EQ(KindOf([&] { admin::AddPrincipal(*owner_, info, "root"); }), ErrorKind::kInvalidInput);
}

TEST_F(ClientAuthTest, ServiceRolesCannotWritePrincipals) {
  X509Ptr x = Leaf("sneaky", 30);
  auto info = admin::InspectClientCertificate(Pem(x.get()), Pem(ca_.get()));
  for (PgRole role : {PgRole::kAuthority, PgRole::kWarrant}) {
    auto pool = pg_->MakePool(role);
    EXPECT_THROW(admin::AddPrincipal(*pool, info, "operator"), db::DbError);
  }
  admin::AddPrincipal(*owner_, info, "auditor");
  auto pool = pg_->MakePool(PgRole::kAuthority);
  EXPECT_THROW(pool->Run("t", [&](db::Tx& tx) {
    tx.Exec("UPDATE principals SET role = 'operator' WHERE cert_sha256 = $1",
            {ByteView(info.sha256)});
  }),
               db::DbError);
  EXPECT_THROW(admin::DisablePrincipal(*pool, info.sha256), db::DbError);
}

TEST_F(ClientAuthTest, PrincipalsAreAppendOnlyEvenForTheOwner) {
  X509Ptr x = Leaf("guarded", 40);
  auto info = admin::InspectClientCertificate(Pem(x.get()), Pem(ca_.get()));
  admin::AddPrincipal(*owner_, info, "auditor");
  for (const char* sql :
       {"UPDATE principals SET role = 'operator' WHERE cert_sha256 = $1",
        "UPDATE principals SET subject = 'CN=other' WHERE cert_sha256 = $1",
        "DELETE FROM principals WHERE cert_sha256 = $1"}) {
    EXPECT_THROW(owner_->Run("t", [&](db::Tx& tx) { tx.Exec(sql, {ByteView(info.sha256)}); }),
                 db::DbError)
        << sql;
  }
  EXPECT_THROW(owner_->Run("t", [&](db::Tx& tx) { tx.Exec("TRUNCATE principals"); }), db::DbError);
  ASSERT_TRUE(admin::DisablePrincipal(*owner_, info.sha256));
  EXPECT_THROW(owner_->Run("t", [&](db::Tx& tx) {
    tx.Exec("UPDATE principals SET disabled_at = NULL WHERE cert_sha256 = $1",
            {ByteView(info.sha256)});
  }),
               db::DbError);
}

TEST_F(ClientAuthTest, CaCertificatesAreNeverPrincipals) {
  // The internal CA itself.
  EXPECT_EQ(KindOf([&] { admin::InspectClientCertificate(Pem(ca_.get()), Pem(ca_.get())); }),
            ErrorKind::kInvalidInput);
  EXPECT_EQ(KindOf([&] { admin::InspectClientCertificate(Pem(ca_.get()), ""); }),
            ErrorKind::kInvalidInput);
  // A subordinate CA certificate issued by the internal CA.
  EvpKeyPtr sub_key = NewP256Key();
  X509Ptr sub = MakeCert(sub_key.get(), "Sub CA", ca_.get(), ca_key_.get(), true, 50);
  EXPECT_EQ(KindOf([&] { admin::InspectClientCertificate(Pem(sub.get()), Pem(ca_.get())); }),
            ErrorKind::kInvalidInput);
  // A leaf from another CA, checked against the internal CA.
  EvpKeyPtr other_key = NewP256Key();
  X509Ptr other_ca = MakeCert(other_key.get(), "Internal CA", nullptr, nullptr, true, 1);
  EvpKeyPtr k = NewP256Key();
  X509Ptr foreign = MakeCert(k.get(), "foreign", other_ca.get(), other_key.get(), false, 51);
  EXPECT_EQ(KindOf([&] { admin::InspectClientCertificate(Pem(foreign.get()), Pem(ca_.get())); }),
            ErrorKind::kInvalidInput);
  // Not a certificate.
  EXPECT_EQ(KindOf([&] { admin::InspectClientCertificate("hello", ""); }),
            ErrorKind::kInvalidInput);
  // And the table refuses nothing else: the rules are in the tool (owner-only writes).
  X509Ptr leaf = Leaf("fine", 52);
  EXPECT_NO_THROW(admin::InspectClientCertificate(Pem(leaf.get()), Pem(ca_.get())));
}

}  // namespace
}  // namespace realdid::authority

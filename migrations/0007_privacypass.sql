-- 0007 privacypass: the daily Privacy Pass token quota (docs/protocol.md section 11). Runs as
-- realdid_owner through realdid-migrate.
--
-- One row per (credential, UTC day): the credential is named only by its revocation id
-- SHA-256(jti || thumbprint(cnf)) (32 bytes), the value relying parties already see in the public
-- revocation lists; no person id, no token, no blinded message, no time finer than the day. `day` is
-- the UTC day number (Unix seconds / 86400). A request consumes n tokens in one guarded UPSERT that
-- never lets `used` pass the limit the service passes in, so concurrent requests cannot overspend.
-- Rows of past days carry no further use: the service may delete them (PrunePrivacyPassQuota).
CREATE TABLE privacypass_quota (
  revocation_id bytea   NOT NULL CHECK (octet_length(revocation_id) = 32),
  day           integer NOT NULL CHECK (day >= 0),
  used          integer NOT NULL CHECK (used >= 0),
  PRIMARY KEY (revocation_id, day)
);
CREATE INDEX privacypass_quota_day ON privacypass_quota (day);
REVOKE ALL ON privacypass_quota FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON privacypass_quota TO realdid_authority;
GRANT UPDATE (used) ON privacypass_quota TO realdid_authority;

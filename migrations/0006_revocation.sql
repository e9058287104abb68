-- 0006 revocation: per issuer key (kid) the revoked revocation ids and the list state, the signed
-- list cache and the single-use nonces of holder revocation (BRIEF section 7, docs/protocol.md 10).
-- Runs as realdid_owner through realdid-migrate.
--
-- A revocation id is SHA-256(jti || RFC 7638 thumbprint(cnf.jwk)) (core/credential.h), never an index
-- the issuer assigned. No reason text and no per-entry time is stored with an id: an id carries only
-- the list version that added it (the version's time is the list issue's issued_at). The audit log
-- (kind "revocation") records who revoked (source) in the same transaction.
-- No foreign key references issuance_records or audit_log (0009 partitions them).

-- One row per kid that ever had a change. version grows by one per changing transaction;
-- key_revoked_version is the version at which the whole key was revoked (write-once).
CREATE TABLE revocation_lists (
  kid                 text        PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{43}$'),
  version             bigint      NOT NULL CHECK (version >= 0),
  key_revoked_version bigint      NULL CHECK (key_revoked_version IS NULL OR
                                              (key_revoked_version >= 1 AND key_revoked_version <= version)),
  updated_at          timestamptz NOT NULL
);
REVOKE ALL ON revocation_lists FROM PUBLIC;
GRANT SELECT, INSERT ON revocation_lists TO realdid_authority, realdid_warrant;
GRANT UPDATE (version, key_revoked_version, updated_at) ON revocation_lists
  TO realdid_authority, realdid_warrant;

-- Versions only grow; a revoked key stays revoked; rows are never deleted.
CREATE FUNCTION revocation_lists_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'revocation_lists: DELETE refused';
  END IF;
  IF NEW.kid <> OLD.kid THEN
    RAISE EXCEPTION 'revocation_lists: kid is immutable';
  END IF;
  IF NEW.version < OLD.version THEN
    RAISE EXCEPTION 'revocation_lists: version only grows';
  END IF;
  IF OLD.key_revoked_version IS NOT NULL AND
     NEW.key_revoked_version IS DISTINCT FROM OLD.key_revoked_version THEN
    RAISE EXCEPTION 'revocation_lists: key_revoked_version is write-once';
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION revocation_lists_guard() FROM PUBLIC;
CREATE TRIGGER revocation_lists_guard
  BEFORE UPDATE OR DELETE ON revocation_lists
  FOR EACH ROW EXECUTE FUNCTION revocation_lists_guard();

-- The revoked ids, append-only. version = the list version that added the id.
CREATE TABLE revocations (
  kid           text   NOT NULL REFERENCES revocation_lists (kid),
  revocation_id bytea  NOT NULL CHECK (octet_length(revocation_id) = 32),
  version       bigint NOT NULL CHECK (version >= 1),
  source        text   NOT NULL CHECK (source IN ('holder', 'warrant', 'key', 'operator')),
  PRIMARY KEY (kid, revocation_id)
);
-- Deltas: the ids of kid added after version V, in byte order.
CREATE INDEX revocations_kid_version ON revocations (kid, version, revocation_id);
REVOKE ALL ON revocations FROM PUBLIC;
GRANT SELECT, INSERT ON revocations TO realdid_authority, realdid_warrant;

CREATE FUNCTION revocations_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'revocations is append-only: % refused', TG_OP;
END;
$$;
REVOKE ALL ON FUNCTION revocations_refuse_change() FROM PUBLIC;
CREATE TRIGGER revocations_no_update_delete
  BEFORE UPDATE OR DELETE ON revocations
  FOR EACH ROW EXECUTE FUNCTION revocations_refuse_change();
CREATE TRIGGER revocations_no_truncate
  BEFORE TRUNCATE ON revocations
  FOR EACH STATEMENT EXECUTE FUNCTION revocations_refuse_change();

-- Cache of the newest signed issue of each kid's full list (so every node serves the same bytes
-- and the same issued_at). Public data; a cache, so it is updated in place.
CREATE TABLE revocation_list_issues (
  kid         text   PRIMARY KEY REFERENCES revocation_lists (kid),
  version     bigint NOT NULL CHECK (version >= 0),
  issued_at   bigint NOT NULL CHECK (issued_at >= 0),
  next_update bigint NOT NULL CHECK (next_update > issued_at),
  jws         text   NOT NULL
);
REVOKE ALL ON revocation_list_issues FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON revocation_list_issues TO realdid_authority;

-- Cache of signed deltas of the newest issue (older issues' deltas are deleted).
CREATE TABLE revocation_delta_cache (
  kid       text   NOT NULL REFERENCES revocation_lists (kid),
  version   bigint NOT NULL,
  issued_at bigint NOT NULL,
  since     bigint NOT NULL CHECK (since >= 0 AND since <= version),
  jws       text   NOT NULL,
  PRIMARY KEY (kid, version, issued_at, since)
);
REVOKE ALL ON revocation_delta_cache FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON revocation_delta_cache TO realdid_authority;

-- Single-use nonces for the holder's proof of possession (docs/protocol.md 10.5).
CREATE TABLE revocation_nonces (
  nonce      bytea       PRIMARY KEY CHECK (octet_length(nonce) = 16),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz NULL
);
CREATE INDEX revocation_nonces_expires_at ON revocation_nonces (expires_at);
REVOKE ALL ON revocation_nonces FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON revocation_nonces TO realdid_authority;
GRANT UPDATE (used_at) ON revocation_nonces TO realdid_authority;

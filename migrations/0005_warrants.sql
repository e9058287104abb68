-- 0005 warrants: the auditor roster, roster changes, warrants, approvals and executions (BRIEF
-- section 6; warrant/ is the only writer). Runs as realdid_owner through realdid-migrate.
--
-- What the database does NOT decide: whether an approval counts. An approval is an ES256 signature
-- by the auditor's own key (held in the auditor's token) over the warrant's content hash; the
-- warrant component verifies every signature against the roster key at approval time AND again
-- at execution time, so a row written by a database superuser without a valid signature never
-- counts. The tables are append-only where they can be (triggers below); the only mutable columns
-- are warrants.state (forward-only) and auditors.removed_at (set once).
-- No foreign key references issuance_records or audit_log (0009 partitions them).
-- Times that drive logic are written by the component from the database clock
-- (clock_timestamp()), so "enrolled before the warrant was filed" compares one clock.

-- The auditor roster. An auditor is identified on the mTLS listener by the SHA-256 of their client
-- certificate (the principals.cert_sha256 of migration 0004: the principal/cert link) and approves
-- with their own P-256 key (public JWK, canonical JSON; its RFC 7638 thumbprint is key_kid).
-- Rows are added by the genesis roster (realdid-warrant --genesis-roster) or by an applied roster
-- change; they are never deleted; removal sets removed_at once.
CREATE TABLE auditors (
  id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label          text        NOT NULL CHECK (label ~ '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$'),
  cert_sha256    bytea       NOT NULL CHECK (octet_length(cert_sha256) = 32),
  public_jwk     text        NOT NULL CHECK (length(public_jwk) BETWEEN 2 AND 512),
  key_kid        text        NOT NULL CHECK (length(key_kid) = 43),
  enrolled_at    timestamptz NOT NULL,
  enrolled_by    text        NOT NULL CHECK (enrolled_by ~ '^(genesis|change:[0-9]+)$'),
  removed_at     timestamptz NULL,
  removed_by     text        NULL CHECK (removed_by IS NULL OR removed_by ~ '^change:[0-9]+$'),
  CHECK ((removed_at IS NULL) = (removed_by IS NULL))
);
-- One active enrolment per certificate and per approval key.
CREATE UNIQUE INDEX auditors_active_cert ON auditors (cert_sha256) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX auditors_active_key ON auditors (key_kid) WHERE removed_at IS NULL;
REVOKE ALL ON auditors FROM PUBLIC;
GRANT SELECT, INSERT ON auditors TO realdid_warrant;
GRANT UPDATE (removed_at, removed_by) ON auditors TO realdid_warrant;
GRANT USAGE ON SEQUENCE auditors_id_seq TO realdid_warrant;

CREATE FUNCTION auditors_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'auditors: % refused (remove instead)', TG_OP;
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.label IS DISTINCT FROM OLD.label
     OR NEW.cert_sha256 IS DISTINCT FROM OLD.cert_sha256
     OR NEW.public_jwk IS DISTINCT FROM OLD.public_jwk OR NEW.key_kid IS DISTINCT FROM OLD.key_kid
     OR NEW.enrolled_at IS DISTINCT FROM OLD.enrolled_at
     OR NEW.enrolled_by IS DISTINCT FROM OLD.enrolled_by THEN
    RAISE EXCEPTION 'auditors: only removed_at/removed_by may change';
  END IF;
  IF OLD.removed_at IS NOT NULL THEN
    RAISE EXCEPTION 'auditors: a removed auditor stays removed';
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION auditors_guard() FROM PUBLIC;
CREATE TRIGGER auditors_guard_row
  BEFORE UPDATE OR DELETE ON auditors
  FOR EACH ROW EXECUTE FUNCTION auditors_guard();
CREATE TRIGGER auditors_no_truncate
  BEFORE TRUNCATE ON auditors
  FOR EACH STATEMENT EXECUTE FUNCTION auditors_guard();

-- The genesis roster: loaded once, when no auditor and no roster change exists yet. file_sha256 is
-- the SHA-256 of the genesis file as signed off at the ceremony (also in the audit log).
CREATE TABLE roster_genesis (
  singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  file_sha256 bytea       NOT NULL CHECK (octet_length(file_sha256) = 32),
  loaded_at   timestamptz NOT NULL
);
REVOKE ALL ON roster_genesis FROM PUBLIC;
GRANT SELECT, INSERT ON roster_genesis TO realdid_warrant;

-- Proposed roster changes (add an auditor, or remove one); content is the canonical JSON that
-- approvals sign (content_hash = SHA-256(content)). Applied once M approvals verify.
CREATE TABLE roster_changes (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  content      text        NOT NULL CHECK (length(content) BETWEEN 2 AND 4096),
  content_hash bytea       NOT NULL UNIQUE CHECK (octet_length(content_hash) = 32),
  proposed_by  bytea       NOT NULL CHECK (octet_length(proposed_by) = 32),  -- cert_sha256
  proposer_auditor_id bigint NULL,
  filed_at     timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  state        text        NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'applied'))
);
REVOKE ALL ON roster_changes FROM PUBLIC;
GRANT SELECT, INSERT ON roster_changes TO realdid_warrant;
GRANT UPDATE (state) ON roster_changes TO realdid_warrant;
GRANT USAGE ON SEQUENCE roster_changes_id_seq TO realdid_warrant;

CREATE TABLE roster_change_approvals (
  change_id   bigint      NOT NULL REFERENCES roster_changes (id),
  auditor_id  bigint      NOT NULL REFERENCES auditors (id),
  signature   bytea       NOT NULL CHECK (octet_length(signature) = 64),
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (change_id, auditor_id)
);
REVOKE ALL ON roster_change_approvals FROM PUBLIC;
GRANT SELECT, INSERT ON roster_change_approvals TO realdid_warrant;

-- Warrants. content is the canonical JSON the approvals sign (warrant/content.h); the other
-- columns repeat its fields for queries. scope: exactly one of credential_sha256 (SHA-256 of the
-- presented credential's issuer-signed JWT) and person_id (opaque persons.id).
CREATE TABLE warrants (
  id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  content           text        NOT NULL CHECK (length(content) BETWEEN 2 AND 8192),
  content_hash      bytea       NOT NULL UNIQUE CHECK (octet_length(content_hash) = 32),
  author_auditor_id bigint      NOT NULL REFERENCES auditors (id),
  legal_basis       text        NOT NULL CHECK (length(legal_basis) BETWEEN 1 AND 1024),
  case_reference    text        NOT NULL CHECK (length(case_reference) BETWEEN 1 AND 256),
  scope_kind        text        NOT NULL CHECK (scope_kind IN ('credential', 'person')),
  credential_sha256 bytea       NULL CHECK (credential_sha256 IS NULL
                                            OR octet_length(credential_sha256) = 32),
  person_id         bigint      NULL,
  action            text        NOT NULL CHECK (action IN ('resolve', 'revoke')),
  filed_at          timestamptz NOT NULL,
  expires_at        timestamptz NOT NULL CHECK (expires_at > filed_at),
  state             text        NOT NULL DEFAULT 'filed'
                                CHECK (state IN ('filed', 'approved', 'executed', 'withdrawn',
                                                 'expired')),
  CHECK ((scope_kind = 'credential') = (credential_sha256 IS NOT NULL)),
  CHECK ((scope_kind = 'person') = (person_id IS NOT NULL)),
  CHECK (scope_kind = 'person' OR action = 'resolve')
);
REVOKE ALL ON warrants FROM PUBLIC;
GRANT SELECT, INSERT ON warrants TO realdid_warrant;
GRANT UPDATE (state) ON warrants TO realdid_warrant;
GRANT USAGE ON SEQUENCE warrants_id_seq TO realdid_warrant;

-- Content is immutable; state moves forward only: filed -> approved -> executed, and filed or
-- approved -> withdrawn | expired. Nothing leaves executed, withdrawn or expired.
CREATE FUNCTION warrants_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'warrants: % refused', TG_OP;
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.content IS DISTINCT FROM OLD.content
     OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
     OR NEW.author_auditor_id IS DISTINCT FROM OLD.author_auditor_id
     OR NEW.legal_basis IS DISTINCT FROM OLD.legal_basis
     OR NEW.case_reference IS DISTINCT FROM OLD.case_reference
     OR NEW.scope_kind IS DISTINCT FROM OLD.scope_kind
     OR NEW.credential_sha256 IS DISTINCT FROM OLD.credential_sha256
     OR NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.action IS DISTINCT FROM OLD.action
     OR NEW.filed_at IS DISTINCT FROM OLD.filed_at
     OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
    RAISE EXCEPTION 'warrants: only state may change';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
       (OLD.state = 'filed' AND NEW.state IN ('approved', 'withdrawn', 'expired')) OR
       (OLD.state = 'approved' AND NEW.state IN ('executed', 'withdrawn', 'expired'))) THEN
    RAISE EXCEPTION 'warrants: state % -> % refused', OLD.state, NEW.state;
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION warrants_guard() FROM PUBLIC;
CREATE TRIGGER warrants_guard_row
  BEFORE UPDATE OR DELETE ON warrants
  FOR EACH ROW EXECUTE FUNCTION warrants_guard();

-- Approvals: ES256 (raw r || s) by the auditor's roster key over
-- "realdid/v1/approve/warrant:" || content_hash. Verified again at execution.
CREATE TABLE warrant_approvals (
  warrant_id  bigint      NOT NULL REFERENCES warrants (id),
  auditor_id  bigint      NOT NULL REFERENCES auditors (id),
  signature   bytea       NOT NULL CHECK (octet_length(signature) = 64),
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (warrant_id, auditor_id)
);
REVOKE ALL ON warrant_approvals FROM PUBLIC;
GRANT SELECT, INSERT ON warrant_approvals TO realdid_warrant;

-- Executions: at most one per warrant (single use, enforced here too). outcome names what was
-- answered, never the answer itself (no identity, no revocation id).
CREATE TABLE warrant_executions (
  warrant_id        bigint      PRIMARY KEY REFERENCES warrants (id),
  executed_by       bigint      NOT NULL REFERENCES auditors (id),
  outcome           text        NOT NULL CHECK (outcome IN ('resolved', 'listed', 'cheat')),
  approvals_counted integer     NOT NULL CHECK (approvals_counted >= 1),
  audit_seq         bigint      NOT NULL,
  executed_at       timestamptz NOT NULL
);
REVOKE ALL ON warrant_executions FROM PUBLIC;
GRANT SELECT, INSERT ON warrant_executions TO realdid_warrant;

CREATE FUNCTION warrant_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
REVOKE ALL ON FUNCTION warrant_refuse_change() FROM PUBLIC;
CREATE TRIGGER roster_genesis_append_only BEFORE UPDATE OR DELETE ON roster_genesis
  FOR EACH ROW EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER roster_change_approvals_append_only BEFORE UPDATE OR DELETE ON roster_change_approvals
  FOR EACH ROW EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER warrant_approvals_append_only BEFORE UPDATE OR DELETE ON warrant_approvals
  FOR EACH ROW EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER warrant_executions_append_only BEFORE UPDATE OR DELETE ON warrant_executions
  FOR EACH ROW EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER warrants_no_truncate BEFORE TRUNCATE ON warrants
  FOR EACH STATEMENT EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER warrant_approvals_no_truncate BEFORE TRUNCATE ON warrant_approvals
  FOR EACH STATEMENT EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER warrant_executions_no_truncate BEFORE TRUNCATE ON warrant_executions
  FOR EACH STATEMENT EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER roster_changes_no_truncate BEFORE TRUNCATE ON roster_changes
  FOR EACH STATEMENT EXECUTE FUNCTION warrant_refuse_change();
CREATE TRIGGER roster_change_approvals_no_truncate BEFORE TRUNCATE ON roster_change_approvals
  FOR EACH STATEMENT EXECUTE FUNCTION warrant_refuse_change();

-- roster_changes: content immutable, state proposed -> applied only.
CREATE FUNCTION roster_changes_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'roster_changes: % refused', TG_OP;
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.content IS DISTINCT FROM OLD.content
     OR NEW.content_hash IS DISTINCT FROM OLD.content_hash
     OR NEW.proposed_by IS DISTINCT FROM OLD.proposed_by
     OR NEW.proposer_auditor_id IS DISTINCT FROM OLD.proposer_auditor_id
     OR NEW.filed_at IS DISTINCT FROM OLD.filed_at
     OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
     OR NOT (OLD.state = 'proposed' AND NEW.state = 'applied') THEN
    RAISE EXCEPTION 'roster_changes: only proposed -> applied';
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION roster_changes_guard() FROM PUBLIC;
CREATE TRIGGER roster_changes_guard_row
  BEFORE UPDATE OR DELETE ON roster_changes
  FOR EACH ROW EXECUTE FUNCTION roster_changes_guard();

-- The warrant component resolves identities (persons.identity_ct, already granted in 0002) and
-- reads issuance records (0002). It needs nothing else of the issuance tables.

-- 0004 principals: who may use the operator/auditor (mutual TLS) listeners, and in which role.
-- Runs as realdid_owner through realdid-migrate.
--
-- A principal is one client certificate issued by the internal CA (scripts/pki.sh), identified by
-- SHA-256 of its DER encoding, with exactly one role. The services only read this table: adding
-- and disabling principals is done by the owner through scripts/pki.sh (which refuses a CA
-- certificate: the internal CA is not an operator role). Rows are never deleted or rewritten; a
-- principal is disabled by setting disabled_at once (trigger below), so the audit log's principal
-- ids keep their meaning.
CREATE TABLE principals (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cert_sha256 bytea       NOT NULL UNIQUE CHECK (octet_length(cert_sha256) = 32),
  subject     text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 1024),
  role        text        NOT NULL CHECK (role IN ('operator', 'auditor', 'administrator')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz NULL
);
REVOKE ALL ON principals FROM PUBLIC;
GRANT SELECT ON principals TO realdid_authority, realdid_warrant;

-- Only disabled_at may change, and only from NULL to a time; no DELETE, no TRUNCATE.
CREATE FUNCTION principals_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION 'principals: % refused (disable instead)', TG_OP;
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.cert_sha256 IS DISTINCT FROM OLD.cert_sha256
     OR NEW.subject IS DISTINCT FROM OLD.subject OR NEW.role IS DISTINCT FROM OLD.role
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'principals: only disabled_at may change';
  END IF;
  IF OLD.disabled_at IS NOT NULL AND NEW.disabled_at IS DISTINCT FROM OLD.disabled_at THEN
    RAISE EXCEPTION 'principals: a disabled principal stays disabled';
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION principals_guard() FROM PUBLIC;
CREATE TRIGGER principals_guard_row
  BEFORE UPDATE OR DELETE ON principals
  FOR EACH ROW EXECUTE FUNCTION principals_guard();
CREATE TRIGGER principals_no_truncate
  BEFORE TRUNCATE ON principals
  FOR EACH STATEMENT EXECUTE FUNCTION principals_guard();

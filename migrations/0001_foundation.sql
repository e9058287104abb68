-- 0001 foundation: privilege baseline and the append-only audit log.
-- Runs as realdid_owner through realdid-migrate (which created schema_migrations just before).
-- Role model: see migrations/bootstrap/roles.sql. In short: realdid_owner owns everything;
-- realdid_authority (issuance service) and realdid_warrant (warrant component) get only the
-- grants written below and in later migrations, table by table.

-- Nothing the owner creates from now on is usable by another role until a migration grants it.
-- Tables and sequences are private by default already; functions and types are not.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE USAGE ON TYPES FROM PUBLIC;

-- Service roles may read which schema version they run against.
REVOKE ALL ON schema_migrations FROM PUBLIC;
GRANT SELECT ON schema_migrations TO realdid_authority, realdid_warrant;

-- Hash-chained audit log (brief section 6). Each row's row_hash covers a length-prefixed encoding
-- of seq, prev_hash and content; prev_hash is the previous row's row_hash. content is the exact
-- bytes that were hashed (bytea, not jsonb: jsonb would re-encode them and break the hash).
-- seq is assigned by the writer (previous seq + 1); the primary key refuses a fork.
CREATE TABLE audit_log (
  seq        bigint      PRIMARY KEY CHECK (seq >= 1),
  prev_hash  bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
  row_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(row_hash) = 32),
  kind       text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
  content    bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT, INSERT ON audit_log TO realdid_authority, realdid_warrant;

-- Defence in depth: the log is append-only even for its owner. (A superuser, or the owner
-- dropping this trigger in a migration, can still change it: that is what the signed checkpoints
-- and the chain verifier are for.) The message names the operation only, never row data.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
REVOKE ALL ON FUNCTION audit_log_refuse_change() FROM PUBLIC;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

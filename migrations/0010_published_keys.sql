-- 0010 published keys: every key of the ceremony's manifest (keys.json) becomes an audit-log event
-- the first time an authority process loads it (kind "key.published"; docs/protocol.md 13.1), so
-- a rotation (`realdid-ceremony rotate`, which never touches the database) is in the tamper-evident
-- log as soon as any node serves the new key. This table makes that event happen once per key id
-- across every node and restart: the authority takes the audit advisory lock, looks the kid up
-- here, and only if it is absent appends the audit row and records its seq, in one transaction.
-- Append-only like the log it indexes. Runs as realdid_owner through realdid-migrate.
CREATE TABLE published_keys (
  kid          text        PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{1,128}$'),
  role         text        NOT NULL CHECK (role ~ '^[a-z][a-z0-9-]{0,63}$'),
  audit_seq    bigint      NOT NULL UNIQUE CHECK (audit_seq >= 1),
  published_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON published_keys FROM PUBLIC;
GRANT SELECT, INSERT ON published_keys TO realdid_authority;
GRANT SELECT ON published_keys TO realdid_warrant;

-- The generic append-only refusal of 0002 (names the table and the operation, never row data).
CREATE TRIGGER published_keys_no_update_delete
  BEFORE UPDATE OR DELETE ON published_keys
  FOR EACH ROW EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER published_keys_no_truncate
  BEFORE TRUNCATE ON published_keys
  FOR EACH STATEMENT EXECUTE FUNCTION issuance_refuse_change();

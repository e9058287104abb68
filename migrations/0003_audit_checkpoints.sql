-- 0003 audit checkpoints: HSM-signed checkpoints of the hash-chained audit_log (BRIEF section 6).
-- Runs as realdid_owner through realdid-migrate.
--
-- Checkpoint n covers the audit rows from_seq+1 .. to_seq, starts where checkpoint n-1 ended and
-- links to it (prev_hash = SHA-256 of n-1's signed body), so the checkpoints form their own chain.
-- row_hashes holds the row_hash of every covered row (32 bytes each), so a rewrite of the log that
-- recomputes every later hash is still caught at its first changed row. The signed body and the
-- signature are specified byte for byte in docs/protocol.md section 9 (core/audit_checkpoint.h).
-- Writers (the authority's checkpointer) hold an advisory lock; the primary key on number and the
-- unique prev_hash refuse a fork even from a writer that skipped the lock. No foreign key refers
-- to audit_log (0009 partitions it); the link is verified by `realdid audit verify`.
CREATE TABLE audit_checkpoints (
  number          bigint      PRIMARY KEY CHECK (number >= 1),
  prev_hash       bytea       NOT NULL UNIQUE CHECK (octet_length(prev_hash) = 32),
  from_seq        bigint      NOT NULL CHECK (from_seq >= 0),
  to_seq          bigint      NOT NULL,
  head_hash       bytea       NOT NULL CHECK (octet_length(head_hash) = 32),
  row_hashes      bytea       NOT NULL,
  signed_at       bigint      NOT NULL CHECK (signed_at >= 0),
  kid             text        NOT NULL CHECK (kid ~ '^[A-Za-z0-9_-]{1,128}$'),
  signature       bytea       NOT NULL CHECK (octet_length(signature) = 64),
  checkpoint_hash bytea       NOT NULL UNIQUE CHECK (octet_length(checkpoint_hash) = 32),
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (to_seq >= from_seq),
  CHECK (octet_length(row_hashes) = 32 * (to_seq - from_seq)),
  CHECK (number > 1 OR from_seq = 0)
);
-- The verifier and the checkpointer find the newest checkpoint by number (primary key).

REVOKE ALL ON audit_checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON audit_checkpoints TO realdid_authority;
GRANT SELECT ON audit_checkpoints TO realdid_warrant;

-- Append-only, like audit_log: the owner cannot change or remove a checkpoint either (a superuser
-- can; the signatures, the checkpoint chain and the witnesses are what catch that).
CREATE FUNCTION audit_checkpoints_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_checkpoints is append-only: % refused', TG_OP;
END;
$$;
REVOKE ALL ON FUNCTION audit_checkpoints_refuse_change() FROM PUBLIC;

CREATE TRIGGER audit_checkpoints_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_refuse_change();

-- 0002 issuance: persons (encrypted identity), CTID nonces, issuance sessions (cut-and-choose state),
-- issuance records (kept for warrants), strikes. Runs as realdid_owner through realdid-migrate.
-- Times that drive logic are written by the service from its own clock (to_timestamp($n)), so tests
-- control them; created_at columns are informational.
-- Grants are explicit, per role and table (0001 made everything private by default).

-- A real-name verified person. The ID number is never stored in clear: id_lookup is the HSM
-- HMAC-SHA256 of it; identity_ct is AES-256-GCM (iv 12 || ct || tag 16) of the canonical JSON
-- {"name","id_number"} under a per-person data key, aad = id_lookup; data_key_ct is that data key
-- encrypted by the HSM data-wrapping key (CKM_AES_GCM), aad = id_lookup.
CREATE TABLE persons (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id_lookup    bytea       NOT NULL UNIQUE CHECK (octet_length(id_lookup) = 32),
  identity_ct  bytea       NOT NULL CHECK (octet_length(identity_ct) > 28),
  data_key_ct  bytea       NOT NULL CHECK (octet_length(data_key_ct) > 28),
  created_at   timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz NULL,
  lock_reason  text        NULL CHECK (lock_reason IS NULL OR lock_reason ~ '^[a-z][a-z0-9_-]{0,63}$'),
  strikes      integer     NOT NULL DEFAULT 0 CHECK (strikes >= 0)
);
REVOKE ALL ON persons FROM PUBLIC;
GRANT SELECT, INSERT ON persons TO realdid_authority;
GRANT UPDATE (locked_until, lock_reason, strikes) ON persons TO realdid_authority;
GRANT USAGE ON SEQUENCE persons_id_seq TO realdid_authority;
GRANT SELECT ON persons TO realdid_warrant;

-- Single-use nonces handed to CTID (protocol 5.1).
CREATE TABLE ctid_nonces (
  nonce      bytea       PRIMARY KEY CHECK (octet_length(nonce) = 16),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz NULL
);
CREATE INDEX ctid_nonces_expires_at ON ctid_nonces (expires_at);
REVOKE ALL ON ctid_nonces FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON ctid_nonces TO realdid_authority;
GRANT UPDATE (used_at) ON ctid_nonces TO realdid_authority;

-- Issuance sessions (protocol 5.2-5.4). commit_blob = the K candidates in order, each
-- blinded_msg || trace; commit_hash = SHA-256(commit_blob). challenge, commit and blind signature
-- are write-once (trigger below); the state machine only moves forward.
CREATE TABLE issuance_sessions (
  id              bytea       PRIMARY KEY CHECK (octet_length(id) = 16),
  person_id       bigint      NOT NULL REFERENCES persons (id),
  secret_hash     bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
  issuance_id     bytea       NOT NULL UNIQUE CHECK (octet_length(issuance_id) = 16),
  iss             text        NOT NULL,
  kid             text        NOT NULL CHECK (length(kid) = 43),
  escrow_kid      text        NOT NULL CHECK (length(escrow_kid) = 43),
  iat             bigint      NOT NULL CHECK (iat >= 0 AND iat % 86400 = 0),
  exp             bigint      NOT NULL CHECK (exp > iat),
  age_over_18     boolean     NOT NULL,
  age_over_60     boolean     NOT NULL,
  province        text        NOT NULL CHECK (province ~ '^[0-9]{2}$'),
  k               integer     NOT NULL CHECK (k >= 2 AND k <= 1024),
  state           text        NOT NULL DEFAULT 'open'
                              CHECK (state IN ('open', 'committed', 'signed', 'failed', 'expired')),
  commit_hash     bytea       NULL CHECK (commit_hash IS NULL OR octet_length(commit_hash) = 32),
  commit_blob     bytea       NULL,
  challenge       integer     NULL CHECK (challenge IS NULL OR (challenge >= 0 AND challenge < k)),
  blind_signature bytea       NULL,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  CHECK (state <> 'committed' OR (commit_hash IS NOT NULL AND challenge IS NOT NULL)),
  CHECK (state <> 'signed' OR (challenge IS NOT NULL AND blind_signature IS NOT NULL))
);
-- The database itself enforces at most one open or committed session per person (no re-rolls).
CREATE UNIQUE INDEX issuance_sessions_one_active ON issuance_sessions (person_id)
  WHERE state IN ('open', 'committed');
CREATE INDEX issuance_sessions_person ON issuance_sessions (person_id);
REVOKE ALL ON issuance_sessions FROM PUBLIC;
GRANT SELECT, INSERT ON issuance_sessions TO realdid_authority;
GRANT UPDATE (state, commit_hash, commit_blob, challenge, blind_signature)
  ON issuance_sessions TO realdid_authority;

CREATE FUNCTION issuance_sessions_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.challenge IS NOT NULL AND NEW.challenge IS DISTINCT FROM OLD.challenge THEN
    RAISE EXCEPTION 'issuance_sessions: challenge is write-once';
  END IF;
  IF OLD.commit_hash IS NOT NULL AND (NEW.commit_hash IS DISTINCT FROM OLD.commit_hash
                                      OR NEW.commit_blob IS DISTINCT FROM OLD.commit_blob) THEN
    RAISE EXCEPTION 'issuance_sessions: commit is write-once';
  END IF;
  IF OLD.blind_signature IS NOT NULL
     AND NEW.blind_signature IS DISTINCT FROM OLD.blind_signature THEN
    RAISE EXCEPTION 'issuance_sessions: blind signature is write-once';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
       (OLD.state = 'open' AND NEW.state IN ('committed', 'failed', 'expired')) OR
       (OLD.state = 'committed' AND NEW.state IN ('signed', 'failed', 'expired'))) THEN
    RAISE EXCEPTION 'issuance_sessions: state % -> % refused', OLD.state, NEW.state;
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION issuance_sessions_guard() FROM PUBLIC;
CREATE TRIGGER issuance_sessions_write_once
  BEFORE UPDATE ON issuance_sessions
  FOR EACH ROW EXECUTE FUNCTION issuance_sessions_guard();

-- What the authority keeps of a signed session (BRIEF section 4 step 6): person -> issuance id ->
-- trace_j and B_j. Warrants resolve escrow -> issuance_id -> person and person -> traces.
CREATE TABLE issuance_records (
  issuance_id bytea       PRIMARY KEY CHECK (octet_length(issuance_id) = 16),
  person_id   bigint      NOT NULL REFERENCES persons (id),
  session_id  bytea       NOT NULL UNIQUE REFERENCES issuance_sessions (id),
  kid         text        NOT NULL CHECK (length(kid) = 43),
  trace       bytea       NOT NULL CHECK (octet_length(trace) = 161),
  blinded_msg bytea       NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX issuance_records_person ON issuance_records (person_id);
REVOKE ALL ON issuance_records FROM PUBLIC;
GRANT SELECT, INSERT ON issuance_records TO realdid_authority;
GRANT SELECT ON issuance_records TO realdid_warrant;

-- Proven cheats and unanswered challenges, per person.
CREATE TABLE strikes (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  person_id  bigint      NOT NULL REFERENCES persons (id),
  session_id bytea       NOT NULL REFERENCES issuance_sessions (id),
  reason     text        NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_-]{0,63}$'),
  created_at timestamptz NOT NULL
);
CREATE INDEX strikes_person ON strikes (person_id);
REVOKE ALL ON strikes FROM PUBLIC;
GRANT SELECT, INSERT ON strikes TO realdid_authority;
GRANT USAGE ON SEQUENCE strikes_id_seq TO realdid_authority;
GRANT SELECT ON strikes TO realdid_warrant;

-- Append-only, even for the owner (defence in depth, as for audit_log).
CREATE FUNCTION issuance_refuse_change() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
REVOKE ALL ON FUNCTION issuance_refuse_change() FROM PUBLIC;
CREATE TRIGGER issuance_records_append_only
  BEFORE UPDATE OR DELETE ON issuance_records
  FOR EACH ROW EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER issuance_records_no_truncate
  BEFORE TRUNCATE ON issuance_records
  FOR EACH STATEMENT EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER strikes_append_only
  BEFORE UPDATE OR DELETE ON strikes
  FOR EACH ROW EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER strikes_no_truncate
  BEFORE TRUNCATE ON strikes
  FOR EACH STATEMENT EXECUTE FUNCTION issuance_refuse_change();

-- 0008 session cancel: a wallet that holds the session secret may cancel its open session before
-- the commit (BRIEF section 6; docs/protocol.md 5.7), so a refused or abandoned session no longer
-- blocks the person until session_ttl. Only open -> cancelled is new: once a commit is stored the
-- challenge exists, and cancelling then would let a wallet re-roll it (BRIEF section 4 step 3).
-- Runs as realdid_owner through realdid-migrate. The per-source access limits of the public
-- listener are in-process (authority/access_limiter.h) and need no table.
ALTER TABLE issuance_sessions DROP CONSTRAINT issuance_sessions_state_check;
ALTER TABLE issuance_sessions ADD CONSTRAINT issuance_sessions_state_check
  CHECK (state IN ('open', 'committed', 'signed', 'failed', 'expired', 'cancelled'));

CREATE OR REPLACE FUNCTION issuance_sessions_guard() RETURNS trigger
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
       (OLD.state = 'open' AND NEW.state IN ('committed', 'failed', 'expired', 'cancelled')) OR
       (OLD.state = 'committed' AND NEW.state IN ('signed', 'failed', 'expired'))) THEN
    RAISE EXCEPTION 'issuance_sessions: state % -> % refused', OLD.state, NEW.state;
  END IF;
  IF NEW.state = 'cancelled' AND (NEW.commit_hash IS NOT NULL OR NEW.challenge IS NOT NULL) THEN
    RAISE EXCEPTION 'issuance_sessions: a committed session cannot be cancelled';
  END IF;
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION issuance_sessions_guard() FROM PUBLIC;

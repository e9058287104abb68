-- 0011 commit blob retention: lets the schema owner drop issuance_sessions.commit_blob (the K
-- candidates, each blinded_msg || trace; ~17 KB at K = 32) once nothing can read it any more, and
-- records when. Runs as realdid_owner through realdid-migrate; the pruning itself is done by
-- `realdid-admin retention commit-blobs` as realdid_owner (docs/operations.md).
--
-- Why: the blob is read only while a session is committed (reveal checks the openings against it
-- and takes B_j and trace_j from it). Once the session is signed, issuance_records holds B_j and
-- trace_j and a repeated reveal returns the stored signature before touching the blob; once it is
-- expired, no reveal is accepted. Kept forever it is ~320 TB a year at national scale
-- (docs/scale.md). A failed session keeps its blob: it is the evidence behind the strike and the
-- lockout (the openings proved a cheat against exactly these bytes).
--
-- Rules (the guard trigger and a CHECK):
--   * commit_blob may go from non-NULL to NULL only when the session is signed or expired, the
--     state does not change in the same UPDATE, commit_hash is unchanged (it stays as the binding
--     of what was committed) and commit_blob_pruned_at is set in that same UPDATE;
--   * any other change of the commit (hash or blob, including restoring a blob) is refused, as
--     before;
--   * commit_blob_pruned_at is write-once and is set only by that UPDATE;
--   * CHECK: commit_blob_pruned_at is set only when commit_blob IS NULL and the state is signed or
--     expired.
-- realdid_authority gets no UPDATE on commit_blob_pruned_at, so the service cannot prune (its
-- UPDATE of commit_blob, needed to store a commit, is refused by the trigger without it); only the
-- owner can. Every other rule of the guard (0002, 0008) is unchanged.
--
-- Cost on an existing database: ADD COLUMN without a default does not rewrite the table; the
-- CHECK and the partial index below scan it once under the migration's lock. The partial index
-- holds only rows still to prune (signed/expired with a blob), so each batch of the command finds
-- its oldest rows without scanning the table, and a pruned row leaves the index.

ALTER TABLE issuance_sessions ADD COLUMN commit_blob_pruned_at timestamptz NULL;
ALTER TABLE issuance_sessions ADD CONSTRAINT issuance_sessions_commit_blob_pruned_check
  CHECK (commit_blob_pruned_at IS NULL
         OR (commit_blob IS NULL AND state IN ('signed', 'expired')));

CREATE INDEX issuance_sessions_commit_blob_prunable ON issuance_sessions (created_at)
  WHERE commit_blob IS NOT NULL AND state IN ('signed', 'expired');

CREATE OR REPLACE FUNCTION issuance_sessions_guard() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.challenge IS NOT NULL AND NEW.challenge IS DISTINCT FROM OLD.challenge THEN
    RAISE EXCEPTION 'issuance_sessions: challenge is write-once';
  END IF;
  IF OLD.commit_hash IS NOT NULL AND (NEW.commit_hash IS DISTINCT FROM OLD.commit_hash
                                      OR NEW.commit_blob IS DISTINCT FROM OLD.commit_blob) THEN
    -- The one exception: the owner's retention prune of a signed or expired session.
    IF NOT (NEW.commit_hash = OLD.commit_hash
            AND OLD.commit_blob IS NOT NULL AND NEW.commit_blob IS NULL
            AND OLD.state IN ('signed', 'expired') AND NEW.state = OLD.state
            AND OLD.commit_blob_pruned_at IS NULL AND NEW.commit_blob_pruned_at IS NOT NULL) THEN
      RAISE EXCEPTION 'issuance_sessions: commit is write-once';
    END IF;
  END IF;
  IF NEW.commit_blob_pruned_at IS DISTINCT FROM OLD.commit_blob_pruned_at THEN
    IF OLD.commit_blob_pruned_at IS NOT NULL THEN
      RAISE EXCEPTION 'issuance_sessions: commit_blob_pruned_at is write-once';
    END IF;
    IF NOT (OLD.commit_blob IS NOT NULL AND NEW.commit_blob IS NULL) THEN
      RAISE EXCEPTION 'issuance_sessions: commit_blob_pruned_at is set only with the prune';
    END IF;
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

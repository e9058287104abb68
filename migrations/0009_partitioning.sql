-- 0009 partitioning: issuance_records and audit_log become tables partitioned by time (RANGE on
-- created_at, one partition per calendar month in UTC, plus a DEFAULT partition), converted in
-- place on existing data. Runs as realdid_owner through realdid-migrate, in one transaction.
--
-- Why by month: at national scale (docs/scale.md) a month is ~1.4 billion issuance records
-- (~1.2 TB) and ~2.8 billion audit rows: a month's partition is the unit to vacuum, back up, move
-- to cheaper storage and, after the retention period, archive; the recent months' indexes are the
-- lookups' working set. Days would mean ~1800 partitions in five years (planning cost grows with
-- their number); years would make partitions of ~17 billion rows (~14 TB).
--
-- Uniqueness across partitions (PostgreSQL 15 accepts a unique constraint on a partitioned table
-- only if it includes the partition key, and then it holds per partition only):
--   issuance_records: issuance_id and session_id were globally unique (PRIMARY KEY, UNIQUE).
--   audit_log: seq (PRIMARY KEY: the schema refuses a fork of the chain) and row_hash (UNIQUE).
-- Each table gets a narrow, unpartitioned KEY table that holds exactly those keys plus created_at:
--   issuance_record_keys (issuance_id PRIMARY KEY, session_id UNIQUE, created_at)
--   audit_log_keys       (seq PRIMARY KEY, row_hash UNIQUE, created_at)
-- A BEFORE INSERT row trigger on the partitioned table inserts the key row in the same statement
-- (SECURITY DEFINER: the service roles cannot write key rows themselves), so a duplicate key fails
-- the INSERT with the same SQLSTATE as before (23505) and a failed INSERT leaves no key behind.
-- The key tables are append-only (same refuse-change triggers). They also map a key to its
-- partition: a lookup by issuance_id reads created_at there and touches one partition only
-- (run-time pruning), and the audit writer finds the chain head (highest seq) with one index probe.
-- They cost what the old global unique indexes cost plus a ~70-byte heap row per record
-- (measured: docs/scale.md). Per partition, PRIMARY KEY (issuance_id, created_at) and
-- PRIMARY KEY (seq, created_at) index the rows for the lookups inside a partition.
-- Alternatives not taken: partitioning audit_log by seq ranges keeps seq unique natively but a
-- seq range cannot be cut at a month boundary before the month ends (the bound of the open
-- partition would have to move, i.e. detach, re-validate and re-attach under load); hash
-- partitioning by issuance_id would make every person lookup and every retention step touch all
-- partitions.
--
-- Not partitioned, and why:
--   issuance_sessions: a mutable working table (its state machine UPDATEs rows) that
--     issuance_records and strikes reference by foreign key; a foreign key to a partitioned table
--     must name the partition key, and sessions are pruned by state/expiry, not archived by month.
--   strikes: only proven cheats; tiny. persons: keyed by person, not by time (1.4e9 rows at most;
--     hash partitioning by id is the option if one table becomes too large, docs/scale.md).
--
-- Partitions ahead of time: realdid_ensure_partitions(months_ahead) creates the current month and
-- the next months_ahead months of both tables (idempotent; docs/operations.md: run it daily from
-- cron as realdid_owner). The DEFAULT partition keeps inserts working if that job stops: rows then
-- land there, stay correct and visible, and a month that already has rows in the DEFAULT partition
-- is skipped (reported with a WARNING; those rows stay where they are, the tables are
-- append-only). Alert on a non-empty *_default partition.
--
-- What is carried over exactly: columns, defaults, NOT NULL and CHECK constraints (LIKE), foreign
-- keys, every non-unique index, every trigger (append-only, refuse-truncate) and every table and
-- column GRANT of the old table, replayed from the catalog (so grants added by migrations
-- 0003-0008 are kept too) and compared afterwards; the migration fails if anything differs.
-- Partitions themselves get no grants: the service roles reach rows through the parent only.

-- ---------------------------------------------------------------------------------------------
-- Conversion helpers (dropped at the end of this migration).

-- Renames every index of tbl to <name>_pre0009 so the new table can reuse the names.
CREATE FUNCTION realdid_0009_rename_indexes(tbl regclass) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           WHERE x.indrelid = tbl LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, left(r.relname, 55) || '_pre0009');
  END LOOP;
END;
$$;

-- Copies foreign keys, non-constraint indexes and triggers of src onto dst (the partitioned
-- table). Unique indexes that are not constraints would fail here, loudly (see the header).
CREATE FUNCTION realdid_0009_copy_objects(src regclass, dst regclass) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  r record;
  src_pat text := ' ON (ONLY )?(public\.)?' || src::text || ' ';
BEGIN
  FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE conrelid = src AND contype = 'f' LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', dst, r.conname, r.def);
  END LOOP;
  FOR r IN SELECT i.relname, pg_get_indexdef(x.indexrelid) AS def
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           WHERE x.indrelid = src
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) LOOP
    EXECUTE regexp_replace(
        regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX \S+', 'CREATE \1INDEX '
                       || quote_ident(regexp_replace(r.relname, '_pre0009$', ''))),
        src_pat, ' ON ' || dst::text || ' ');
  END LOOP;
  FOR r IN SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger
           WHERE tgrelid = src AND NOT tgisinternal LOOP
    EXECUTE regexp_replace(r.def, src_pat, ' ON ' || dst::text || ' ');
  END LOOP;
END;
$$;

-- Replays the table and column grants of src onto dst (all of them, or only SELECT).
CREATE FUNCTION realdid_0009_copy_grants(src regclass, dst regclass, only_select boolean)
  RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT a.privilege_type, g.rolname
           FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
           JOIN pg_roles g ON g.oid = a.grantee
           WHERE c.oid = src AND a.grantee <> c.relowner
             AND (NOT only_select OR a.privilege_type = 'SELECT') LOOP
    EXECUTE format('GRANT %s ON %s TO %I', r.privilege_type, dst, r.rolname);
  END LOOP;
  IF only_select THEN
    RETURN;
  END IF;
  FOR r IN SELECT t.attname, a.privilege_type, g.rolname
           FROM pg_attribute t CROSS JOIN LATERAL aclexplode(t.attacl) a
           JOIN pg_roles g ON g.oid = a.grantee
           WHERE t.attrelid = src AND t.attnum > 0 AND NOT t.attisdropped
             AND t.attacl IS NOT NULL LOOP
    EXECUTE format('GRANT %s (%I) ON %s TO %I', r.privilege_type, r.attname, dst, r.rolname);
  END LOOP;
END;
$$;

-- Fails unless dst carries exactly src's table and column privileges (PUBLIC included).
CREATE FUNCTION realdid_0009_check_grants(src regclass, dst regclass) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  differ boolean;
BEGIN
  WITH s AS (SELECT a.grantee, a.privilege_type, a.is_grantable, NULL::name AS col
             FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = src
             UNION ALL
             SELECT a.grantee, a.privilege_type, a.is_grantable, t.attname
             FROM pg_attribute t CROSS JOIN LATERAL aclexplode(t.attacl) a
             WHERE t.attrelid = src AND t.attnum > 0 AND NOT t.attisdropped),
       d AS (SELECT a.grantee, a.privilege_type, a.is_grantable, NULL::name AS col
             FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = dst
             UNION ALL
             SELECT a.grantee, a.privilege_type, a.is_grantable, t.attname
             FROM pg_attribute t CROSS JOIN LATERAL aclexplode(t.attacl) a
             WHERE t.attrelid = dst AND t.attnum > 0 AND NOT t.attisdropped)
  SELECT EXISTS (SELECT * FROM s EXCEPT SELECT * FROM d)
         OR EXISTS (SELECT * FROM d EXCEPT SELECT * FROM s) INTO differ;
  IF differ THEN
    RAISE EXCEPTION '0009: grants of % differ from those of %', dst, src;
  END IF;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Partition maintenance (kept).

-- Creates the partition of parent for the UTC month starting at month_start, named
-- <parent>_yYYYYmMM, unless it exists (false) or the DEFAULT partition already holds rows of that
-- month (WARNING, false). The new partition gets the parent's statement-level triggers (row
-- triggers, indexes and constraints are inherited by PostgreSQL itself) and no grants.
CREATE FUNCTION realdid_month_partition(parent regclass, month_start date) RETURNS boolean
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '5s' AS $$
DECLARE
  base text := (SELECT relname FROM pg_class WHERE oid = parent);
  name text;
  lo timestamptz;
  hi timestamptz;
  busy boolean;
  r record;
BEGIN
  IF parent NOT IN ('issuance_records'::regclass, 'audit_log'::regclass) THEN
    RAISE EXCEPTION 'realdid_month_partition: % is not partitioned by month', parent;
  END IF;
  month_start := date_trunc('month', month_start)::date;
  name := base || '_y' || to_char(month_start, 'YYYY') || 'm' || to_char(month_start, 'MM');
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  lo := month_start::timestamp AT TIME ZONE 'UTC';
  hi := (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE created_at >= $1 AND created_at < $2)',
                 base || '_default') INTO busy USING lo, hi;
  IF busy THEN
    RAISE WARNING '%: the default partition holds rows of %; partition not created', base,
      to_char(month_start, 'YYYY-MM');
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                 name, base, lo, hi);
  EXECUTE format('REVOKE ALL ON %I FROM PUBLIC', name);
  FOR r IN SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger
           WHERE tgrelid = parent AND NOT tgisinternal AND (tgtype & 1) = 0 LOOP
    EXECUTE regexp_replace(r.def, ' ON (ONLY )?(public\.)?' || base || ' ',
                           ' ON ' || quote_ident(name) || ' ');
  END LOOP;
  RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION realdid_month_partition(regclass, date) FROM PUBLIC;

-- The job to run daily (docs/operations.md): partitions for this month and months_ahead months
-- after it, for both tables. Returns how many partitions it created.
CREATE FUNCTION realdid_ensure_partitions(months_ahead integer DEFAULT 3) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  made integer := 0;
  t regclass;
  m date;
BEGIN
  IF months_ahead < 0 OR months_ahead > 120 THEN
    RAISE EXCEPTION 'realdid_ensure_partitions: months_ahead % out of 0..120', months_ahead;
  END IF;
  FOREACH t IN ARRAY ARRAY['issuance_records'::regclass, 'audit_log'::regclass] LOOP
    FOR i IN 0..months_ahead LOOP
      m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
      IF realdid_month_partition(t, m) THEN
        made := made + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN made;
END;
$$;
REVOKE ALL ON FUNCTION realdid_ensure_partitions(integer) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- issuance_records

ALTER TABLE issuance_records RENAME TO issuance_records_pre0009;
SELECT realdid_0009_rename_indexes('issuance_records_pre0009');

CREATE TABLE issuance_records (
  LIKE issuance_records_pre0009 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE
                                INCLUDING COMMENTS,
  PRIMARY KEY (issuance_id, created_at)
) PARTITION BY RANGE (created_at);
REVOKE ALL ON issuance_records FROM PUBLIC;
CREATE TABLE issuance_records_default PARTITION OF issuance_records DEFAULT;
REVOKE ALL ON issuance_records_default FROM PUBLIC;

-- Global uniqueness of issuance_id and session_id, and issuance_id -> partition.
CREATE TABLE issuance_record_keys (
  issuance_id bytea       PRIMARY KEY CHECK (octet_length(issuance_id) = 16),
  session_id  bytea       NOT NULL UNIQUE CHECK (octet_length(session_id) = 16),
  created_at  timestamptz NOT NULL
);
REVOKE ALL ON issuance_record_keys FROM PUBLIC;
CREATE TRIGGER issuance_record_keys_append_only
  BEFORE UPDATE OR DELETE ON issuance_record_keys
  FOR EACH ROW EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER issuance_record_keys_no_truncate
  BEFORE TRUNCATE ON issuance_record_keys
  FOR EACH STATEMENT EXECUTE FUNCTION issuance_refuse_change();

CREATE FUNCTION issuance_records_claim_key() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO issuance_record_keys (issuance_id, session_id, created_at)
    VALUES (NEW.issuance_id, NEW.session_id, NEW.created_at);
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION issuance_records_claim_key() FROM PUBLIC;
CREATE TRIGGER issuance_records_claim_key
  BEFORE INSERT ON issuance_records
  FOR EACH ROW EXECUTE FUNCTION issuance_records_claim_key();

-- ---------------------------------------------------------------------------------------------
-- audit_log

ALTER TABLE audit_log RENAME TO audit_log_pre0009;
SELECT realdid_0009_rename_indexes('audit_log_pre0009');

CREATE TABLE audit_log (
  LIKE audit_log_pre0009 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE
                         INCLUDING COMMENTS,
  PRIMARY KEY (seq, created_at)
) PARTITION BY RANGE (created_at);
REVOKE ALL ON audit_log FROM PUBLIC;
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
REVOKE ALL ON audit_log_default FROM PUBLIC;

-- Global uniqueness of seq (no fork) and row_hash; the chain head in one probe.
CREATE TABLE audit_log_keys (
  seq        bigint      PRIMARY KEY CHECK (seq >= 1),
  row_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(row_hash) = 32),
  created_at timestamptz NOT NULL
);
REVOKE ALL ON audit_log_keys FROM PUBLIC;
CREATE TRIGGER audit_log_keys_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log_keys
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_keys_no_truncate
  BEFORE TRUNCATE ON audit_log_keys
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

CREATE FUNCTION audit_log_claim_key() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO audit_log_keys (seq, row_hash, created_at)
    VALUES (NEW.seq, NEW.row_hash, NEW.created_at);
  RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION audit_log_claim_key() FROM PUBLIC;
CREATE TRIGGER audit_log_claim_key
  BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_claim_key();

-- ---------------------------------------------------------------------------------------------
-- Carry over the old tables' triggers first (the statement-level ones then reach every monthly
-- partition created below), then partitions for every month that has rows and for the months
-- ahead, then the rows, then the rest.

SELECT realdid_0009_copy_objects('issuance_records_pre0009', 'issuance_records');
SELECT realdid_0009_copy_objects('audit_log_pre0009', 'audit_log');
-- The DEFAULT partitions existed before the triggers were copied: give them the statement ones.
CREATE TRIGGER issuance_records_no_truncate
  BEFORE TRUNCATE ON issuance_records_default
  FOR EACH STATEMENT EXECUTE FUNCTION issuance_refuse_change();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

SELECT realdid_month_partition('issuance_records', m)
  FROM (SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS m
        FROM issuance_records_pre0009) months;
SELECT realdid_month_partition('audit_log', m)
  FROM (SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS m
        FROM audit_log_pre0009) months;
SELECT realdid_ensure_partitions(3);

-- The rows (the claim-key triggers fill the key tables; a duplicate would fail here).
INSERT INTO issuance_records SELECT * FROM issuance_records_pre0009 ORDER BY created_at;
INSERT INTO audit_log SELECT * FROM audit_log_pre0009 ORDER BY seq;
DO $$
BEGIN
  IF (SELECT count(*) FROM issuance_records) <> (SELECT count(*) FROM issuance_records_pre0009)
     OR (SELECT count(*) FROM audit_log) <> (SELECT count(*) FROM audit_log_pre0009) THEN
    RAISE EXCEPTION '0009: row counts differ after the move';
  END IF;
END;
$$;

-- Grants exactly as before; the key tables get the SELECT grants of their table.
SELECT realdid_0009_copy_grants('issuance_records_pre0009', 'issuance_records', false);
SELECT realdid_0009_copy_grants('issuance_records_pre0009', 'issuance_record_keys', true);
SELECT realdid_0009_copy_grants('audit_log_pre0009', 'audit_log', false);
SELECT realdid_0009_copy_grants('audit_log_pre0009', 'audit_log_keys', true);
SELECT realdid_0009_check_grants('issuance_records_pre0009', 'issuance_records');
SELECT realdid_0009_check_grants('audit_log_pre0009', 'audit_log');

-- No CASCADE: an object that still depends on an old table (a view, a foreign key) stops the
-- migration here instead of vanishing.
DROP TABLE issuance_records_pre0009;
DROP TABLE audit_log_pre0009;

DROP FUNCTION realdid_0009_rename_indexes(regclass);
DROP FUNCTION realdid_0009_copy_objects(regclass, regclass);
DROP FUNCTION realdid_0009_copy_grants(regclass, regclass, boolean);
DROP FUNCTION realdid_0009_check_grants(regclass, regclass);

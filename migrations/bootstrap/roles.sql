-- RealDID Authority: cluster bootstrap. Run once (re-running is harmless) as the cluster
-- superuser, with psql (it uses psql's \if, \getenv, \gexec and \connect):
--
--   REALDID_OWNER_PASSWORD=... REALDID_AUTHORITY_PASSWORD=... REALDID_WARRANT_PASSWORD=... \
--   psql -X -v ON_ERROR_STOP=1 [-v dbname=realdid] -d postgres -f migrations/bootstrap/roles.sql
--
-- Passwords come from the environment (never from the command line, where `ps` shows them); a
-- role whose variable is unset keeps its password (or none: then it can log in only where
-- pg_hba.conf trusts it). Keep log_statement below 'ddl' while this runs: ALTER ROLE ... PASSWORD
-- is DDL.
--
-- Role model (least privilege, one database user per security context):
--   realdid_owner      LOGIN. Owns the database, the schema objects and schema_migrations; runs
--                      the migrations (realdid-migrate) and nothing else. No service uses it.
--   realdid_authority  LOGIN. The public-facing issuance service.
--   realdid_warrant    LOGIN. The warrant component (its own process, listener and HSM token).
--   The two service roles own nothing and get only what each migration GRANTs them explicitly;
--   on audit_log that is INSERT and SELECT, never UPDATE, DELETE or TRUNCATE, and a trigger
--   refuses UPDATE/DELETE/TRUNCATE even to the owner (defence in depth).
--   No role is SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS. PUBLIC loses CONNECT and
--   TEMPORARY on the database and CREATE on schema public, so only these roles reach it and only
--   the owner creates objects. Migration 0001 sets the owner's default privileges so that nothing
--   created later (functions included) is usable by anyone until a migration grants it.

\set ON_ERROR_STOP on
\if :{?dbname}
\else
  \set dbname realdid
\endif

SELECT 'CREATE ROLE realdid_owner' WHERE NOT EXISTS
  (SELECT 1 FROM pg_roles WHERE rolname = 'realdid_owner') \gexec
SELECT 'CREATE ROLE realdid_authority' WHERE NOT EXISTS
  (SELECT 1 FROM pg_roles WHERE rolname = 'realdid_authority') \gexec
SELECT 'CREATE ROLE realdid_warrant' WHERE NOT EXISTS
  (SELECT 1 FROM pg_roles WHERE rolname = 'realdid_warrant') \gexec

ALTER ROLE realdid_owner     LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE realdid_authority LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE realdid_warrant   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

\getenv owner_password REALDID_OWNER_PASSWORD
\if :{?owner_password}
  ALTER ROLE realdid_owner PASSWORD :'owner_password';
  \unset owner_password
\endif
\getenv authority_password REALDID_AUTHORITY_PASSWORD
\if :{?authority_password}
  ALTER ROLE realdid_authority PASSWORD :'authority_password';
  \unset authority_password
\endif
\getenv warrant_password REALDID_WARRANT_PASSWORD
\if :{?warrant_password}
  ALTER ROLE realdid_warrant PASSWORD :'warrant_password';
  \unset warrant_password
\endif

SELECT format('CREATE DATABASE %I OWNER realdid_owner ENCODING %L TEMPLATE template0',
              :'dbname', 'UTF8')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec

REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"dbname" TO realdid_authority, realdid_warrant;

\connect :"dbname"
-- PostgreSQL 15 already withholds CREATE on schema public from PUBLIC; say so explicitly.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO realdid_authority, realdid_warrant;

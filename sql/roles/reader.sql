-- A read-only login for an analyst (PostgreSQL only), run by the warehouse's owner (with
-- CREATEROLE) or a superuser; rerunning it brings the role back to these rights and no more.
-- :reader is the login role, :password its password ('' keeps or sets none), :reader_group
-- the group role of this warehouse's readers (<database>_reader), which holds the rights:
-- CONNECT, USAGE on the schema and SELECT on every table and view, now and those the owner
-- creates later (default privileges). A reader cannot write (no INSERT, UPDATE, DELETE or
-- TRUNCATE grant, and its transactions are read-only by default) nor create (CREATE on the
-- schema and TEMPORARY are revoked from PUBLIC, which every role otherwise inherits).
SELECT
    SET_CONFIG('commune_reports.reader', :reader, TRUE) AS reader,
    SET_CONFIG('commune_reports.reader_password', :password, TRUE) AS password,
    SET_CONFIG('commune_reports.reader_group', :reader_group, TRUE) AS reader_group;

DO $$
DECLARE
    reader TEXT := current_setting('commune_reports.reader');
    secret TEXT := current_setting('commune_reports.reader_password');
    readers TEXT := current_setting('commune_reports.reader_group');
    owner_role TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = readers) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', readers);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', reader);
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_roles
        WHERE rolname = reader AND (rolsuper OR rolreplication OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role % is a superuser or may replicate or bypass row security', reader
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN NOCREATEDB NOCREATEROLE', reader);
    IF secret <> '' THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', reader, secret);
    END IF;
    EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on', reader);
    EXECUTE format('GRANT %I TO %I', readers, reader);
    EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), readers);
    EXECUTE 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', readers);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA public TO %I', readers);
    SELECT tableowner INTO owner_role FROM pg_tables
    WHERE schemaname = 'public' AND tablename = 'facts';
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO %I',
        coalesce(owner_role, current_user),
        readers
    );
END $$;

-- History, not run any more: the table in which the runner before Alembic recorded which
-- files of sql/schema a warehouse had applied. A warehouse made by it still has the table;
-- commune_reports.migrations stamps such a warehouse at the last file it recorded, then
-- upgrades it with the Alembic revisions (alembic_version). New warehouses do not get it.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Which files of sql/schema have been applied to this warehouse, each once and in name order.
-- Files 001-005 only create what is missing, so a warehouse made before this table existed
-- takes them again harmlessly; every later file changes the schema and runs exactly once.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL
);

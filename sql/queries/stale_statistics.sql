-- PostgreSQL only: of :tables, those whose planner statistics a write of :written rows makes
-- stale. Like autovacuum's rule (analyze after a tenth of the table has changed, plus 50 rows)
-- but at once: never analyzed, or the rows changed since the last ANALYZE and this write come
-- to :fraction of the rows the planner knows. A quarter added to years of history then costs
-- no ANALYZE of the whole table; the first load of an empty warehouse still gets one.
SELECT c.relname AS table_name
FROM pg_class AS c
LEFT JOIN pg_stat_user_tables AS s ON c.oid = s.relid
WHERE
    c.oid = ANY(
        SELECT TO_REGCLASS(t.name) FROM UNNEST(CAST(:tables AS TEXT[])) AS t (name)
    )
    AND (
        c.reltuples < 0
        OR COALESCE(s.n_mod_since_analyze, 0) + :written >= :fraction * c.reltuples + 50
    )

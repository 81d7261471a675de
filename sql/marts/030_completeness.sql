-- Who has reported, per regime and period run, as of the latest data (:as_of far in the
-- future): the rows of sql/queries/completeness.sql, the query of `commune-reports
-- completeness --as-of`.
DELETE FROM completeness
WHERE period_code IN (SELECT s.code FROM query_mart_scope AS s);

INSERT INTO completeness (
    regime, period_code, unit_code, unit_key, unit_name, level, deadline, status,
    submission_id, received_at, rejected_count
)
SELECT
    q.regime,
    q.period_code,
    q.unit_code,
    q.unit_key,
    q.unit_name,
    q.level,
    q.deadline,
    q.status,
    q.submission_id,
    q.received_at,
    q.rejected_count
FROM query_completeness AS q;

-- The checks a report of :unit_key for the periods of :code_list shows: the unit's own, and
-- the outliers among the units directly under it (a commune far from the others) and those
-- below a legal minimum.
SELECT
    c.unit_key,
    c.unit_code,
    u.name AS unit_name,
    c.period_code,
    c.level,
    c.check_code,
    c.kind,
    c.metric_code,
    c.severity,
    c.value,
    c.reference,
    c.reference_period,
    c.score,
    c.threshold,
    c.definition_version,
    c.reference_definition_version,
    c.reference_metric
FROM figure_checks AS c
INNER JOIN units AS u ON c.unit_key = u.unit_key
LEFT JOIN unit_tree AS t
    ON c.unit_key = t.unit_key AND t.ancestor_key = :unit_key AND t.depth = 1
WHERE
    CAST(:code_list AS TEXT) LIKE '%,' || c.period_code || ',%'
    AND (c.unit_key = :unit_key OR (t.unit_key IS NOT NULL AND c.kind IN ('outlier', 'minimum')))
ORDER BY c.period_code, c.metric_code, c.level, c.unit_code, c.check_code

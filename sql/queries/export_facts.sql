-- The facts under the unit :unit_key for the periods of :code_list (between commas; a year
-- brings its quarters), as reported (:basis = 'reported') or mapped onto today's units
-- ('now': a merged unit's facts go to its successor, a split's by its share), summed per
-- unit, period and metric: what an export hands to another system, which aggregates them.
SELECT
    l.mapped_unit_code AS unit_code,
    u.name AS unit_name,
    l.level,
    l.metric_code,
    l.regime,
    l.period_code,
    CASE
        WHEN MAX(l.aggregation) = 'sum' THEN SUM(l.figure_value)
        WHEN MAX(l.aggregation) = 'min' THEN MIN(l.figure_value)
        WHEN COUNT(l.figure_value) = 1 THEN MAX(l.figure_value)
    END AS value,
    COUNT(*) AS facts
FROM figure_lineage AS l
INNER JOIN units AS u ON l.mapped_unit_key = u.unit_key
WHERE
    l.basis = :basis
    AND l.figure_unit_key = :unit_key
    AND CAST(:code_list AS TEXT) LIKE '%,' || l.figure_period_code || ',%'
GROUP BY l.mapped_unit_code, u.name, l.level, l.metric_code, l.regime, l.period_code
ORDER BY l.period_code, l.mapped_unit_code, l.metric_code

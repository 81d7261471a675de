-- Reporting rate and on-time rate per regime, period, unit of the tree (each commune,
-- district and province: the units expected under it) and level (commune, district, all).
-- Only expected units are counted, so neither rate can exceed 100%.
DELETE FROM mart_completeness_rates
WHERE period_code IN (SELECT s.code FROM query_mart_scope AS s);

INSERT INTO mart_completeness_rates (
    regime, period_code, unit_key, unit_code, level, units_expected, units_reported,
    units_on_time, units_rejected, units_missing, reporting_rate_pct, on_time_rate_pct
)
WITH under AS (
    SELECT
        c.regime,
        c.period_code,
        t.ancestor_key,
        c.level,
        c.status
    FROM completeness AS c
    INNER JOIN unit_tree AS t ON c.unit_key = t.unit_key
    WHERE :all_groups = 1 OR CAST(:code_list AS TEXT) LIKE '%,' || c.period_code || ',%'
),

leveled AS (
    SELECT
        regime,
        period_code,
        ancestor_key,
        level,
        status
    FROM under
    UNION ALL
    SELECT
        regime,
        period_code,
        ancestor_key,
        'all' AS level,
        status
    FROM under
)

SELECT
    l.regime,
    l.period_code,
    l.ancestor_key,
    a.code,
    l.level,
    COUNT(*) AS units_expected,
    SUM(CASE WHEN l.status IN ('on_time', 'late') THEN 1 ELSE 0 END) AS units_reported,
    SUM(CASE WHEN l.status = 'on_time' THEN 1 ELSE 0 END) AS units_on_time,
    SUM(CASE WHEN l.status = 'rejected' THEN 1 ELSE 0 END) AS units_rejected,
    SUM(CASE WHEN l.status = 'missing' THEN 1 ELSE 0 END) AS units_missing,
    100.0 * SUM(CASE WHEN l.status IN ('on_time', 'late') THEN 1 ELSE 0 END) / COUNT(*)
        AS reporting_rate_pct,
    100.0 * SUM(CASE WHEN l.status = 'on_time' THEN 1 ELSE 0 END) / COUNT(*)
        AS on_time_rate_pct
FROM leveled AS l
INNER JOIN units AS a ON l.ancestor_key = a.unit_key
GROUP BY l.regime, l.period_code, l.ancestor_key, a.code, l.level;

-- Reporting rate and on-time rate per regime, period and level (commune, district, all).
-- Only expected units are counted, so neither rate can exceed 100%.
DELETE FROM mart_completeness_rates;

INSERT INTO mart_completeness_rates (
    regime, period_code, level, units_expected, units_reported, units_on_time,
    units_rejected, units_missing, reporting_rate_pct, on_time_rate_pct
)
WITH levels AS (
    SELECT 'commune' AS level
    UNION ALL
    SELECT 'district' AS level
    UNION ALL
    SELECT 'all' AS level
)

SELECT
    c.regime,
    c.period_code,
    l.level,
    COUNT(*) AS units_expected,
    SUM(CASE WHEN c.status IN ('on_time', 'late') THEN 1 ELSE 0 END) AS units_reported,
    SUM(CASE WHEN c.status = 'on_time' THEN 1 ELSE 0 END) AS units_on_time,
    SUM(CASE WHEN c.status = 'rejected' THEN 1 ELSE 0 END) AS units_rejected,
    SUM(CASE WHEN c.status = 'missing' THEN 1 ELSE 0 END) AS units_missing,
    100.0 * SUM(CASE WHEN c.status IN ('on_time', 'late') THEN 1 ELSE 0 END) / COUNT(*)
        AS reporting_rate_pct,
    100.0 * SUM(CASE WHEN c.status = 'on_time' THEN 1 ELSE 0 END) / COUNT(*)
        AS on_time_rate_pct
FROM completeness AS c
INNER JOIN levels AS l ON c.level = l.level OR l.level = 'all'
GROUP BY c.regime, c.period_code, l.level;

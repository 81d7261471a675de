-- Totals of every metric by level (commune, district, all) and period. Quarterly metrics are
-- also rolled up to their year. "sum" metrics add up; "value" metrics (scores, ranks) are
-- shown only where exactly one unit reports them. Rebuilt whole: deterministic, idempotent.
DELETE FROM mart_totals;

INSERT INTO mart_totals (
    period_code, period_type, year, level, metric_code, value, units_reporting, periods_included
)
WITH base AS (
    SELECT
        f.unit_code,
        f.metric_code,
        f.value,
        u.level,
        p.period_type,
        p.year,
        f.period_code,
        m.aggregation
    FROM facts AS f
    INNER JOIN units AS u ON f.unit_key = u.unit_key
    INNER JOIN periods AS p ON f.regime = p.regime AND f.period_code = p.period_code
    INNER JOIN metrics AS m ON f.metric_code = m.code
),

grains AS (
    SELECT
        unit_code,
        metric_code,
        value,
        level,
        period_type,
        year,
        period_code,
        period_code AS source_period,
        aggregation
    FROM base
    UNION ALL
    SELECT
        unit_code,
        metric_code,
        value,
        level,
        'year' AS period_type,
        year,
        CAST(year AS TEXT) AS period_code,
        period_code AS source_period,
        aggregation
    FROM base
    WHERE period_type = 'quarter' AND aggregation = 'sum'
),

levels AS (
    SELECT 'commune' AS level
    UNION ALL
    SELECT 'district' AS level
    UNION ALL
    SELECT 'all' AS level
)

SELECT
    g.period_code,
    g.period_type,
    g.year,
    l.level,
    g.metric_code,
    CASE
        WHEN MAX(g.aggregation) = 'sum' THEN SUM(g.value)
        WHEN COUNT(g.value) = 1 THEN MAX(g.value)
    END AS value,
    COUNT(DISTINCT CASE WHEN g.value IS NOT NULL THEN g.unit_code END) AS units_reporting,
    COUNT(DISTINCT g.source_period) AS periods_included
FROM grains AS g
INNER JOIN levels AS l ON g.level = l.level OR l.level = 'all'
GROUP BY g.period_code, g.period_type, g.year, l.level, g.metric_code;

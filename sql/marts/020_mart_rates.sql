-- Derived rates from summed numerators and denominators, never by averaging rates.
-- A denominator "expected:<metric>" is the number of units that must report that metric in
-- the period (e.g. staff_conference_rate = units that held the conference / units expected).
DELETE FROM mart_rates;

INSERT INTO mart_rates (
    period_code, period_type, year, level, rate_code, numerator, denominator, rate_pct
)
WITH expected AS (
    SELECT
        p.period_code,
        mr.metric_code,
        u.level,
        COUNT(*) AS units_expected
    FROM metric_requirements AS mr
    INNER JOIN metrics AS m ON mr.metric_code = m.code
    INNER JOIN units AS u ON mr.unit_key = u.unit_key
    INNER JOIN periods AS p
        ON
            m.regime = p.regime
            AND u.valid_from <= p.end_date
            AND u.valid_to >= p.end_date
    GROUP BY p.period_code, mr.metric_code, u.level
),

expected_levels AS (
    SELECT
        period_code,
        metric_code,
        level,
        units_expected
    FROM expected
    UNION ALL
    SELECT
        period_code,
        metric_code,
        'all' AS level,
        SUM(units_expected) AS units_expected
    FROM expected
    GROUP BY period_code, metric_code
),

pairs AS (
    SELECT
        n.period_code,
        n.period_type,
        n.year,
        n.level,
        r.code AS rate_code,
        n.value AS numerator,
        d.value AS denominator
    FROM rates AS r
    INNER JOIN mart_totals AS n ON r.numerator = n.metric_code
    INNER JOIN mart_totals AS d
        ON
            r.denominator = d.metric_code
            AND n.period_code = d.period_code
            AND n.level = d.level
    UNION ALL
    SELECT
        n.period_code,
        n.period_type,
        n.year,
        n.level,
        r.code AS rate_code,
        n.value AS numerator,
        e.units_expected AS denominator
    FROM rates AS r
    INNER JOIN mart_totals AS n ON r.numerator = n.metric_code
    INNER JOIN expected_levels AS e
        ON
            r.denominator = 'expected:' || e.metric_code
            AND n.period_code = e.period_code
            AND n.level = e.level
)

SELECT
    period_code,
    period_type,
    year,
    level,
    rate_code,
    numerator,
    denominator,
    CASE WHEN denominator > 0 THEN 100.0 * numerator / denominator END AS rate_pct
FROM pairs
WHERE numerator IS NOT NULL AND denominator IS NOT NULL;

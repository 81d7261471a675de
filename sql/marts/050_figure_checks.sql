-- Consistency checks (check_rules) of the totals just built, for every unit of the tree.
-- A build rewrites the checks of its periods and of the same periods a year later
-- (query_check_scope), whose swing compares with them.
DELETE FROM figure_checks
WHERE period_code IN (SELECT s.code FROM query_check_scope AS s);

-- swing: a complete figure against the same period a year before, complete too and made of
-- as many periods (2023 against 2022, 2023Q4 against 2022Q4), when it moved by more than
-- threshold percent; score = the change in percent; with the definition versions of both
-- (different: the definition changed between them, which may explain the swing).
INSERT INTO figure_checks (
    unit_key, unit_code, period_code, level, check_code, kind, metric_code, severity, value,
    reference, reference_period, score, threshold, definition_version,
    reference_definition_version
)
SELECT
    c.unit_key,
    c.unit_code,
    c.period_code,
    c.level,
    r.code,
    r.kind,
    c.metric_code,
    r.severity,
    c.value,
    p.value AS reference,
    p.period_code AS reference_period,
    ROUND(100.0 * (c.value - p.value) / p.value, 2) AS score,
    r.threshold,
    c.definition_max AS definition_version,
    p.definition_max AS reference_definition_version
FROM mart_totals AS c
INNER JOIN check_rules AS r ON r.kind = 'swing' AND c.metric_code = r.metric_code
INNER JOIN mart_totals AS p
    ON
        c.unit_key = p.unit_key
        AND c.level = p.level
        AND c.metric_code = p.metric_code
        AND p.period_code = CAST(c.year - 1 AS TEXT) || SUBSTR(c.period_code, 5)
WHERE
    c.period_code IN (SELECT s.code FROM query_check_scope AS s)
    AND c.value IS NOT NULL
    AND p.value > 0
    AND c.reports_received >= c.reports_expected
    AND p.reports_received >= p.reports_expected
    AND c.periods_included = p.periods_included
    AND 100.0 * ABS(c.value - p.value) > r.threshold * p.value;

-- outlier: a unit's own figure (level 'all' of the unit itself) among its siblings of the
-- same level in the same period, at least 5 of them: modified z-score
-- 0.6745 * (value - median) / MAD (Iglewicz and Hoaglin), or, when more than half of them
-- agree (MAD = 0), (value - median) / (1.253314 * mean absolute deviation); flagged above
-- threshold (3.5). reference = the siblings' median, reference_period = the period itself.
INSERT INTO figure_checks (
    unit_key, unit_code, period_code, level, check_code, kind, metric_code, severity, value,
    reference, reference_period, score, threshold
)
WITH siblings AS (
    SELECT
        m.unit_key,
        m.unit_code,
        m.period_code,
        m.metric_code,
        m.value,
        t.ancestor_key AS parent_key,
        u.level AS unit_level,
        r.code AS check_code,
        r.kind,
        r.severity,
        r.threshold
    FROM mart_totals AS m
    INNER JOIN check_rules AS r ON r.kind = 'outlier' AND m.metric_code = r.metric_code
    INNER JOIN unit_tree AS t ON m.unit_key = t.unit_key AND t.depth = 1
    INNER JOIN units AS u ON m.unit_key = u.unit_key
    WHERE
        m.level = 'all'
        AND m.value IS NOT NULL
        AND m.period_code IN (SELECT s.code FROM query_check_scope AS s)
),

ranked AS (
    SELECT
        parent_key,
        unit_level,
        period_code,
        check_code,
        value,
        ROW_NUMBER() OVER (
            PARTITION BY parent_key, unit_level, period_code, check_code ORDER BY value
        ) AS rn,
        COUNT(*) OVER (PARTITION BY parent_key, unit_level, period_code, check_code) AS n
    FROM siblings
),

medians AS (
    SELECT
        parent_key,
        unit_level,
        period_code,
        check_code,
        AVG(value) AS median,
        MAX(n) AS n
    FROM ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY parent_key, unit_level, period_code, check_code
),

deviations AS (
    SELECT
        s.unit_key,
        s.unit_code,
        s.period_code,
        s.metric_code,
        s.value,
        s.parent_key,
        s.unit_level,
        s.check_code,
        s.kind,
        s.severity,
        s.threshold,
        md.median,
        md.n,
        ABS(s.value - md.median) AS deviation
    FROM siblings AS s
    INNER JOIN medians AS md
        ON
            s.parent_key = md.parent_key
            AND s.unit_level = md.unit_level
            AND s.period_code = md.period_code
            AND s.check_code = md.check_code
),

ranked_deviations AS (
    SELECT
        parent_key,
        unit_level,
        period_code,
        check_code,
        deviation,
        n,
        ROW_NUMBER() OVER (
            PARTITION BY parent_key, unit_level, period_code, check_code ORDER BY deviation
        ) AS rn
    FROM deviations
),

mads AS (
    SELECT
        parent_key,
        unit_level,
        period_code,
        check_code,
        AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN deviation END) AS mad,
        AVG(deviation) AS mean_deviation
    FROM ranked_deviations
    GROUP BY parent_key, unit_level, period_code, check_code
),

scored AS (
    SELECT
        d.unit_key,
        d.unit_code,
        d.period_code,
        d.check_code,
        d.kind,
        d.metric_code,
        d.severity,
        d.value,
        d.median,
        d.n,
        d.threshold,
        CASE
            WHEN a.mad > 0 THEN 0.6745 * (d.value - d.median) / a.mad
            WHEN a.mean_deviation > 0 THEN (d.value - d.median) / (1.253314 * a.mean_deviation)
        END AS score
    FROM deviations AS d
    INNER JOIN mads AS a
        ON
            d.parent_key = a.parent_key
            AND d.unit_level = a.unit_level
            AND d.period_code = a.period_code
            AND d.check_code = a.check_code
)

SELECT
    unit_key,
    unit_code,
    period_code,
    'all' AS level,
    check_code,
    kind,
    metric_code,
    severity,
    value,
    median AS reference,
    period_code AS reference_period,
    ROUND(score, 2) AS score,
    threshold
FROM scored
WHERE n >= 5 AND ABS(score) > threshold;

-- reconcile: a complete figure against another metric's complete figure of the same unit,
-- period and level (the yearly form's restated dossiers against the sum of the four
-- quarters; the one-stop desk's dossiers against the agencies' own count), when they differ
-- by more than threshold percent of the other; score = the difference in percent.
INSERT INTO figure_checks (
    unit_key, unit_code, period_code, level, check_code, kind, metric_code, severity, value,
    reference, reference_period, score, threshold, reference_metric
)
SELECT
    c.unit_key,
    c.unit_code,
    c.period_code,
    c.level,
    r.code,
    r.kind,
    c.metric_code,
    r.severity,
    c.value,
    o.value AS reference,
    o.period_code AS reference_period,
    ROUND(100.0 * (c.value - o.value) / o.value, 2) AS score,
    r.threshold,
    r.other_metric AS reference_metric
FROM mart_totals AS c
INNER JOIN check_rules AS r
    ON
        r.kind = 'reconcile'
        AND c.metric_code = r.metric_code
        AND (r.level = '' OR c.level = r.level)
INNER JOIN mart_totals AS o
    ON
        c.unit_key = o.unit_key
        AND c.level = o.level
        AND c.period_code = o.period_code
        AND r.other_metric = o.metric_code
WHERE
    c.period_code IN (SELECT s.code FROM query_check_scope AS s)
    AND c.value IS NOT NULL
    AND o.value > 0
    AND c.reports_received >= c.reports_expected
    AND o.reports_received >= o.reports_expected
    AND 100.0 * ABS(c.value - o.value) > r.threshold * o.value;

-- minimum: a reporting unit's own value (level 'all' of a unit that must report the metric,
-- of the rule's level if it names one) below threshold, a legal minimum (the district
-- chairman's citizen reception 2 days a month, a commune chairman's 1 day a week);
-- reference = the minimum, score = the shortfall.
INSERT INTO figure_checks (
    unit_key, unit_code, period_code, level, check_code, kind, metric_code, severity, value,
    reference, reference_period, score, threshold
)
SELECT
    c.unit_key,
    c.unit_code,
    c.period_code,
    c.level,
    r.code,
    r.kind,
    c.metric_code,
    r.severity,
    c.value,
    r.threshold AS reference,
    c.period_code AS reference_period,
    c.value - r.threshold AS score,
    r.threshold
FROM mart_totals AS c
INNER JOIN check_rules AS r ON r.kind = 'minimum' AND c.metric_code = r.metric_code
INNER JOIN units AS u ON c.unit_key = u.unit_key
WHERE
    (r.level = '' OR u.level = r.level)
    AND c.period_code IN (SELECT s.code FROM query_check_scope AS s)
    AND c.level = 'all'
    AND c.value < r.threshold
    AND EXISTS (
        SELECT 1
        FROM metric_requirements AS q
        WHERE q.unit_key = c.unit_key AND q.metric_code = c.metric_code
    )

-- Figures of every unit of the tree, one query for the marts and for reports, so a year, a
-- range and a single period are aggregated by the same rules.
--   * unit: each unit version and every unit above it (unit_tree), so a commune, a district
--     and a province each get their own figures; :unit_key = '' for every unit, else that
--     unit and, with :depth = 1, each unit directly under it (a province's districts).
--   * level: the level of the units that reported (commune, district) and 'all'.
--   * groups: with :all_groups = 1 each period alone and each year of its quarters (the
--     marts); else the periods named in :code_list (between commas: ',2021,2022,') and,
--     when :range_code is set, one more group, the range, made of all of them (a year in a
--     range brings its quarters).
--   * :as_now = 1 maps each fact onto today's units (the 'now' rows of the unit_bases view: a
--     merge whole, a split by its documented share, a split without shares left out).
-- kind 'metric': value is the sum; for scores and ranks the value of the one unit that
-- reports it (NULL when several do); for a 'min' metric (a schedule: reception days a week)
-- the lowest of the units' values, what every one of them holds at least. kind 'rate':
-- numerator and denominator are summed parts, never an average of rates; a denominator
-- "expected:<metric>" counts the unit-periods that had to report the metric. A rate's
-- units and reports expected are its numerator's.
-- definition_min / definition_max: the definition versions of a metric's facts (different:
-- the figure adds up two definitions; NULL for rates, whose parts say it).
-- reports_received / reports_expected count unit-periods, so a year with a quarter missing
-- is not complete. units_reporting / units_expected count the units as they
-- reported (as now too: new Xã Tháp Mười's 2023 is 3 of its 3 predecessors), and only units
-- that exist at the end of each period.
WITH scope AS (
    SELECT unit_key
    FROM unit_tree
    WHERE ancestor_key = :unit_key AND depth <= :depth
),

selected_groups AS (
    SELECT
        regime,
        group_code,
        group_type,
        year,
        period_code,
        end_date,
        rolled
    FROM period_groups
    WHERE
        :all_groups = 1
        OR CAST(:code_list AS TEXT) LIKE '%,' || group_code || ',%'
    UNION ALL
    SELECT
        regime,
        CAST(:range_code AS TEXT) AS group_code,
        'range' AS group_type,
        CAST(:range_year AS INTEGER) AS year,
        period_code,
        end_date,
        rolled
    FROM period_groups
    WHERE
        CAST(:range_code AS TEXT) <> ''
        AND CAST(:code_list AS TEXT) LIKE '%,' || group_code || ',%'
),

mapped AS (
    SELECT
        unit_key,
        mapped_key,
        share
    FROM unit_bases
    WHERE basis = CASE WHEN :as_now = 1 THEN 'now' ELSE 'reported' END
),

reported AS (
    SELECT
        t.ancestor_key,
        g.group_code,
        g.group_type,
        g.year,
        mu.level,
        f.metric_code,
        m.aggregation,
        f.unit_key,
        CASE WHEN m.aggregation = 'sum' THEN f.value * mp.share ELSE f.value END AS value,
        g.period_code AS source_period,
        f.definition_version
    FROM facts AS f
    INNER JOIN selected_groups AS g ON f.regime = g.regime AND f.period_code = g.period_code
    INNER JOIN metrics AS m ON f.metric_code = m.code
    INNER JOIN mapped AS mp ON f.unit_key = mp.unit_key
    INNER JOIN units AS mu ON mp.mapped_key = mu.unit_key
    INNER JOIN unit_tree AS t ON mp.mapped_key = t.unit_key
    WHERE
        (g.rolled = 0 OR m.aggregation = 'sum')
        AND (
            CAST(:unit_key AS TEXT) = ''
            OR t.ancestor_key IN (SELECT s.unit_key FROM scope AS s)
        )
),

reported_levels AS (
    SELECT
        ancestor_key,
        group_code,
        group_type,
        year,
        level,
        metric_code,
        aggregation,
        unit_key,
        value,
        source_period,
        definition_version
    FROM reported
    UNION ALL
    SELECT
        ancestor_key,
        group_code,
        group_type,
        year,
        'all' AS level,
        metric_code,
        aggregation,
        unit_key,
        value,
        source_period,
        definition_version
    FROM reported
),

totals AS (
    SELECT
        ancestor_key,
        group_code,
        group_type,
        year,
        level,
        metric_code,
        CASE
            WHEN MAX(aggregation) = 'sum' THEN SUM(value)
            WHEN MAX(aggregation) = 'min' THEN MIN(value)
            WHEN COUNT(value) = 1 THEN MAX(value)
        END AS value,
        COUNT(DISTINCT CASE WHEN value IS NOT NULL THEN unit_key END) AS units_reporting,
        COUNT(
            DISTINCT CASE WHEN value IS NOT NULL THEN unit_key || '|' || source_period END
        ) AS reports_received,
        COUNT(DISTINCT source_period) AS periods_included,
        MIN(definition_version) AS definition_min,
        MAX(definition_version) AS definition_max
    FROM reported_levels
    GROUP BY ancestor_key, group_code, group_type, year, level, metric_code
),

expected AS (
    SELECT
        t.ancestor_key,
        g.group_code,
        mu.level,
        mr.metric_code,
        COUNT(DISTINCT u.unit_key) AS units_expected,
        COUNT(*) AS reports_expected
    FROM metric_requirements AS mr
    INNER JOIN metrics AS m ON mr.metric_code = m.code
    INNER JOIN selected_groups AS g ON m.regime = g.regime
    INNER JOIN units AS u
        ON
            mr.unit_key = u.unit_key
            AND g.end_date >= u.valid_from
            AND g.end_date <= u.valid_to
    INNER JOIN mapped AS mp ON u.unit_key = mp.unit_key
    INNER JOIN units AS mu ON mp.mapped_key = mu.unit_key
    INNER JOIN unit_tree AS t ON mp.mapped_key = t.unit_key
    WHERE
        (g.rolled = 0 OR m.aggregation = 'sum')
        AND (
            CAST(:unit_key AS TEXT) = ''
            OR t.ancestor_key IN (SELECT s.unit_key FROM scope AS s)
        )
    GROUP BY t.ancestor_key, g.group_code, mu.level, mr.metric_code
),

expected_levels AS (
    SELECT
        ancestor_key,
        group_code,
        level,
        metric_code,
        units_expected,
        reports_expected
    FROM expected
    UNION ALL
    SELECT
        ancestor_key,
        group_code,
        'all' AS level,
        metric_code,
        SUM(units_expected) AS units_expected,
        SUM(reports_expected) AS reports_expected
    FROM expected
    GROUP BY ancestor_key, group_code, metric_code
),

denominators AS (
    SELECT
        ancestor_key,
        group_code,
        level,
        metric_code AS denominator,
        value
    FROM totals
    UNION ALL
    SELECT
        ancestor_key,
        group_code,
        level,
        'expected:' || metric_code AS denominator,
        reports_expected AS value
    FROM expected_levels
),

rate_parts AS (
    SELECT
        n.ancestor_key,
        n.group_code,
        n.group_type,
        n.year,
        n.level,
        r.code,
        r.numerator AS numerator_code,
        n.value AS numerator,
        d.value AS denominator,
        n.units_reporting,
        n.reports_received,
        n.periods_included
    FROM rates AS r
    INNER JOIN totals AS n ON r.numerator = n.metric_code
    INNER JOIN denominators AS d
        ON
            r.denominator = d.denominator
            AND n.ancestor_key = d.ancestor_key
            AND n.group_code = d.group_code
            AND n.level = d.level
)

SELECT
    'metric' AS kind,
    t.ancestor_key AS unit_key,
    a.code AS unit_code,
    t.group_code AS period_code,
    t.group_type AS period_type,
    t.year,
    t.level,
    t.metric_code AS code,
    t.value,
    NULL AS numerator,
    NULL AS denominator,
    CAST(t.units_reporting AS INTEGER) AS units_reporting,
    CAST(COALESCE(e.units_expected, 0) AS INTEGER) AS units_expected,
    CAST(COALESCE(e.reports_expected, 0) AS INTEGER) AS reports_expected,
    CAST(t.reports_received AS INTEGER) AS reports_received,
    CAST(t.periods_included AS INTEGER) AS periods_included,
    t.definition_min,
    t.definition_max
FROM totals AS t
INNER JOIN units AS a ON t.ancestor_key = a.unit_key
LEFT JOIN expected_levels AS e
    ON
        t.ancestor_key = e.ancestor_key
        AND t.group_code = e.group_code
        AND t.level = e.level
        AND t.metric_code = e.metric_code
UNION ALL
SELECT
    'rate' AS kind,
    p.ancestor_key AS unit_key,
    a.code AS unit_code,
    p.group_code AS period_code,
    p.group_type AS period_type,
    p.year,
    p.level,
    p.code,
    CASE WHEN p.denominator > 0 THEN 100.0 * p.numerator / p.denominator END AS value,
    p.numerator,
    p.denominator,
    CAST(p.units_reporting AS INTEGER) AS units_reporting,
    CAST(COALESCE(e.units_expected, 0) AS INTEGER) AS units_expected,
    CAST(COALESCE(e.reports_expected, 0) AS INTEGER) AS reports_expected,
    CAST(p.reports_received AS INTEGER) AS reports_received,
    CAST(p.periods_included AS INTEGER) AS periods_included,
    NULL AS definition_min,
    NULL AS definition_max
FROM rate_parts AS p
INNER JOIN units AS a ON p.ancestor_key = a.unit_key
LEFT JOIN expected_levels AS e
    ON
        p.ancestor_key = e.ancestor_key
        AND p.group_code = e.group_code
        AND p.level = e.level
        AND p.numerator_code = e.metric_code
WHERE p.numerator IS NOT NULL AND p.denominator IS NOT NULL

-- Totals of every metric for every unit of the tree (each commune, district and province),
-- by level of the reporting units (commune, district, all) and period; quarters are also
-- rolled up to their year. The rows of sql/queries/figures.sql, the query reports use for
-- ranges too. Rebuilt whole: deterministic, idempotent.
DELETE FROM mart_totals;

INSERT INTO mart_totals (
    unit_key, unit_code, period_code, period_type, year, level, metric_code, value,
    units_reporting, units_expected, reports_expected, periods_included
)
SELECT
    q.unit_key,
    q.unit_code,
    q.period_code,
    q.period_type,
    q.year,
    q.level,
    q.code,
    q.value,
    q.units_reporting,
    q.units_expected,
    q.reports_expected,
    q.periods_included
FROM query_figures AS q
WHERE q.kind = 'metric';

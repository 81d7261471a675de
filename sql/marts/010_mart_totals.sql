-- Totals of every metric for every unit of the tree (each commune, district and province),
-- by level of the reporting units (commune, district, all) and period; quarters are also
-- rolled up to their year. The rows of sql/queries/figures.sql (computed once by 005), the
-- query reports use for ranges too. A run rebuilds only the periods it touched and the years
-- they feed (:code_list, e.g. ',2023Q4,2023,'; :all_groups = 1 for everything):
-- deterministic, idempotent, and as cheap on five years of history as on an empty warehouse.
DELETE FROM mart_totals
WHERE period_code IN (SELECT s.code FROM query_mart_scope AS s);

INSERT INTO mart_totals (
    unit_key, unit_code, period_code, period_type, year, level, metric_code, value,
    units_reporting, units_expected, reports_expected, reports_received, periods_included,
    definition_min, definition_max
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
    q.reports_received,
    q.periods_included,
    q.definition_min,
    q.definition_max
FROM mart_figures AS q
WHERE q.kind = 'metric';

-- Derived rates for every unit of the tree, from summed numerators and denominators, never
-- by averaging rates (the 'rate' rows of sql/queries/figures.sql).
DELETE FROM mart_rates
WHERE period_code IN (SELECT s.code FROM query_mart_scope AS s);

INSERT INTO mart_rates (
    unit_key, unit_code, period_code, period_type, year, level, rate_code, numerator,
    denominator, rate_pct, units_reporting, periods_included
)
SELECT
    q.unit_key,
    q.unit_code,
    q.period_code,
    q.period_type,
    q.year,
    q.level,
    q.code,
    q.numerator,
    q.denominator,
    q.value,
    q.units_reporting,
    q.periods_included
FROM mart_figures AS q
WHERE q.kind = 'rate';

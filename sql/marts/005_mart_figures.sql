-- The rows of sql/queries/figures.sql for the periods a build rewrites, computed once into
-- a temporary table of this connection and read by the totals and the rates marts (each
-- used to run the whole query again); 090_mart_figures_done.sql drops it.
DROP TABLE IF EXISTS mart_figures;

CREATE TEMPORARY TABLE mart_figures (
    kind TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    level TEXT NOT NULL,
    code TEXT NOT NULL,
    value NUMERIC,
    numerator NUMERIC,
    denominator NUMERIC,
    units_reporting INTEGER NOT NULL,
    units_expected INTEGER NOT NULL,
    reports_expected INTEGER NOT NULL,
    reports_received INTEGER NOT NULL,
    periods_included INTEGER NOT NULL,
    definition_min INTEGER,
    definition_max INTEGER
);

INSERT INTO mart_figures (
    kind, unit_key, unit_code, period_code, period_type, year, level, code, value, numerator,
    denominator, units_reporting, units_expected, reports_expected, reports_received,
    periods_included, definition_min, definition_max
)
SELECT
    q.kind,
    q.unit_key,
    q.unit_code,
    q.period_code,
    q.period_type,
    q.year,
    q.level,
    q.code,
    q.value,
    q.numerator,
    q.denominator,
    q.units_reporting,
    q.units_expected,
    q.reports_expected,
    q.reports_received,
    q.periods_included,
    q.definition_min,
    q.definition_max
FROM query_figures AS q;

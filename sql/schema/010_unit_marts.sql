-- Marts per unit of the tree: each row is the figure of one unit (a commune, a district, a
-- province: unit_key, with unit_code for people) over the units under it, by level. The
-- marts are derived data, rebuilt from facts on every run (and right after this migration),
-- so they are recreated rather than altered.
DROP TABLE IF EXISTS mart_totals;
DROP TABLE IF EXISTS mart_rates;
DROP TABLE IF EXISTS mart_completeness_rates;

CREATE TABLE IF NOT EXISTS mart_totals (
    unit_key TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    level TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    value NUMERIC(18, 4),
    units_reporting INTEGER NOT NULL,
    units_expected INTEGER NOT NULL,
    reports_expected INTEGER NOT NULL,
    periods_included INTEGER NOT NULL,
    PRIMARY KEY (unit_key, period_code, level, metric_code)
);

CREATE INDEX IF NOT EXISTS mart_totals_code ON mart_totals (unit_code, period_code);

CREATE TABLE IF NOT EXISTS mart_rates (
    unit_key TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    level TEXT NOT NULL,
    rate_code TEXT NOT NULL,
    numerator NUMERIC(18, 4) NOT NULL,
    denominator NUMERIC(18, 4) NOT NULL,
    rate_pct NUMERIC(9, 4),
    units_reporting INTEGER NOT NULL,
    periods_included INTEGER NOT NULL,
    PRIMARY KEY (unit_key, period_code, level, rate_code)
);

CREATE INDEX IF NOT EXISTS mart_rates_code ON mart_rates (unit_code, period_code);

CREATE TABLE IF NOT EXISTS mart_completeness_rates (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    level TEXT NOT NULL,
    units_expected INTEGER NOT NULL,
    units_reported INTEGER NOT NULL,
    units_on_time INTEGER NOT NULL,
    units_rejected INTEGER NOT NULL,
    units_missing INTEGER NOT NULL,
    reporting_rate_pct NUMERIC(9, 4) NOT NULL,
    on_time_rate_pct NUMERIC(9, 4) NOT NULL,
    PRIMARY KEY (regime, period_code, unit_key, level)
);

-- Marts are rebuilt by period (the periods a run touched and the years they feed): index
-- them by period, and the tree by unit for the join of each fact to every unit above it.
CREATE INDEX IF NOT EXISTS mart_totals_period ON mart_totals (period_code);
CREATE INDEX IF NOT EXISTS mart_rates_period ON mart_rates (period_code);
CREATE INDEX IF NOT EXISTS mart_completeness_rates_period ON mart_completeness_rates (
    period_code
);
CREATE INDEX IF NOT EXISTS completeness_period ON completeness (period_code);
CREATE INDEX IF NOT EXISTS unit_tree_unit ON unit_tree (unit_key);

-- Periods whose submissions changed status since the marts were last built (a form filed in
-- another period's folder, an approved correction): the next build takes them too.
CREATE TABLE IF NOT EXISTS mart_dirty (
    period_code TEXT PRIMARY KEY
);

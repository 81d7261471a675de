-- The current value of each metric for each unit and period: latest accepted submission wins.
-- value is NULL where a metric that may be blank was left blank (e.g. a pending PAR Index).
CREATE TABLE IF NOT EXISTS facts (
    unit_code TEXT NOT NULL,
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    value NUMERIC(18, 4),
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    sheet TEXT NOT NULL,
    cell TEXT NOT NULL,
    PRIMARY KEY (unit_code, regime, period_code, metric_code)
);

CREATE INDEX IF NOT EXISTS facts_period ON facts (period_code, metric_code);

CREATE TABLE IF NOT EXISTS mart_totals (
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    level TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    value NUMERIC(18, 4),
    units_reporting INTEGER NOT NULL,
    periods_included INTEGER NOT NULL,
    PRIMARY KEY (period_code, level, metric_code)
);

CREATE TABLE IF NOT EXISTS mart_rates (
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    level TEXT NOT NULL,
    rate_code TEXT NOT NULL,
    numerator NUMERIC(18, 4) NOT NULL,
    denominator NUMERIC(18, 4) NOT NULL,
    rate_pct NUMERIC(9, 4),
    PRIMARY KEY (period_code, level, rate_code)
);

CREATE TABLE IF NOT EXISTS completeness (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    level TEXT NOT NULL,
    deadline DATE NOT NULL,
    status TEXT NOT NULL,
    submission_id TEXT,
    received_at TIMESTAMP WITH TIME ZONE,
    rejected_count INTEGER NOT NULL,
    PRIMARY KEY (regime, period_code, unit_code)
);

CREATE TABLE IF NOT EXISTS mart_completeness_rates (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    level TEXT NOT NULL,
    units_expected INTEGER NOT NULL,
    units_reported INTEGER NOT NULL,
    units_on_time INTEGER NOT NULL,
    units_rejected INTEGER NOT NULL,
    units_missing INTEGER NOT NULL,
    reporting_rate_pct NUMERIC(9, 4) NOT NULL,
    on_time_rate_pct NUMERIC(9, 4) NOT NULL,
    PRIMARY KEY (regime, period_code, level)
);

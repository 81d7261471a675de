-- Consistency checks of the figures: the rules (catalog/checks.csv, copied like the rest of
-- the catalog) and what they found, rebuilt with the marts. A swing compares a figure with
-- the same period a year before; an outlier compares a unit's own figure with its siblings'
-- (the units under the same parent, of the same level) by the modified z-score.
CREATE TABLE IF NOT EXISTS check_rules (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    threshold NUMERIC(9, 4) NOT NULL,
    severity TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS figure_checks (
    unit_key TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_code TEXT NOT NULL,
    level TEXT NOT NULL,
    check_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    severity TEXT NOT NULL,
    value NUMERIC(18, 4) NOT NULL,
    reference NUMERIC(18, 4) NOT NULL,
    reference_period TEXT NOT NULL,
    score NUMERIC(12, 4) NOT NULL,
    threshold NUMERIC(9, 4) NOT NULL,
    definition_version INTEGER,
    reference_definition_version INTEGER,
    PRIMARY KEY (unit_key, period_code, level, check_code)
);

CREATE INDEX IF NOT EXISTS figure_checks_period ON figure_checks (period_code);
CREATE INDEX IF NOT EXISTS figure_checks_code ON figure_checks (unit_code, period_code);

-- unit-period reports received behind each total, so a check (and an analyst) can tell a
-- complete figure from a partial one, and the lowest and highest definition versions of its
-- facts (different: the figure adds up two definitions); filled by the mart rebuild after
-- this migration
ALTER TABLE mart_totals ADD COLUMN reports_received INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mart_totals ADD COLUMN definition_min INTEGER;
ALTER TABLE mart_totals ADD COLUMN definition_max INTEGER;

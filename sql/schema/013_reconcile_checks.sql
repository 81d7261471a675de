-- Reconciliation and minimum checks, and files held by a blocking check.
--   * check_rules.other_metric: a 'reconcile' rule compares metric_code with this metric's
--     figure of the same unit, period and level (the yearly form's restated total against
--     its four quarters; the one-stop desk against the agencies); check_rules.level limits
--     it to one level ('' = every level). figure_checks.reference_metric says which.
--   * figure_lineage: a 'min' metric (a reception schedule) is not shared out by a split's
--     share, as a count is: a commune split in two still receives citizens 1 day a week.
--   * submission_holds: why a file is held (status 'held'), one row per finding, kept after
--     it is released or replaced.
ALTER TABLE check_rules ADD COLUMN other_metric TEXT NOT NULL DEFAULT '';
ALTER TABLE check_rules ADD COLUMN level TEXT NOT NULL DEFAULT '';
ALTER TABLE figure_checks ADD COLUMN reference_metric TEXT;

CREATE TABLE IF NOT EXISTS submission_holds (
    submission_id TEXT NOT NULL,
    check_code TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    period_code TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    value NUMERIC(18, 4) NOT NULL,
    reference_metric TEXT NOT NULL,
    reference NUMERIC(18, 4) NOT NULL,
    reference_period TEXT NOT NULL,
    sheet TEXT,
    cell TEXT,
    threshold NUMERIC(9, 4) NOT NULL,
    message_vi TEXT NOT NULL,
    message_en TEXT NOT NULL,
    PRIMARY KEY (submission_id, check_code, period_code)
);

DROP VIEW figure_lineage;

CREATE VIEW figure_lineage AS
SELECT
    b.basis,
    a.unit_key AS figure_unit_key,
    a.code AS figure_unit_code,
    a.name AS figure_unit_name,
    g.group_code AS figure_period_code,
    b.level,
    f.metric_code,
    m.aggregation,
    f.unit_code,
    f.unit_key,
    ru.name AS unit_name,
    b.mapped_key AS mapped_unit_key,
    b.mapped_code AS mapped_unit_code,
    f.regime,
    f.period_code,
    f.value,
    b.share,
    CASE WHEN m.aggregation = 'sum' THEN f.value * b.share ELSE f.value END AS figure_value,
    f.definition_version,
    f.submission_id,
    s.original_name,
    s.archive_path,
    f.sheet,
    f.cell,
    s.received_at,
    s.received_via
FROM facts AS f
INNER JOIN period_groups AS g ON f.regime = g.regime AND f.period_code = g.period_code
INNER JOIN metrics AS m ON f.metric_code = m.code
INNER JOIN unit_feeds AS b ON f.unit_key = b.unit_key
INNER JOIN units AS ru ON f.unit_key = ru.unit_key
INNER JOIN units AS a ON b.ancestor_key = a.unit_key
INNER JOIN submissions AS s ON f.submission_id = s.submission_id
WHERE g.rolled = 0 OR m.aggregation = 'sum';

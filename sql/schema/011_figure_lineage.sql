-- Versions of what each metric counts (catalog/definitions.csv, copied like the catalog),
-- each valid for the periods that end within [valid_from, valid_to].
CREATE TABLE IF NOT EXISTS metric_definitions (
    metric_code TEXT NOT NULL,
    version INTEGER NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    definition_vi TEXT NOT NULL,
    definition_en TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    PRIMARY KEY (metric_code, version)
);

-- The version of its metric's definition a fact was reported under (the one valid at the
-- end of its period when it was loaded), kept when the catalog gains a version later. Facts
-- loaded before versions existed were reported under the first.
ALTER TABLE facts ADD COLUMN definition_version INTEGER NOT NULL DEFAULT 1;

-- The groups a fact's period goes into: the period itself and, for a quarter, its year
-- (rolled = 1: only summed metrics roll up), as sql/queries/figures.sql aggregates them.
CREATE VIEW period_groups AS
SELECT
    regime,
    period_code AS group_code,
    period_type AS group_type,
    year,
    period_code,
    end_date,
    0 AS rolled
FROM periods
UNION ALL
SELECT
    regime,
    CAST(year AS TEXT) AS group_code,
    'year' AS group_type,
    year,
    period_code,
    end_date,
    1 AS rolled
FROM periods
WHERE period_type = 'quarter';

-- What is behind a unit's figure is found from the unit: its facts by unit and period, and
-- the old units that map onto a unit of today.
CREATE INDEX IF NOT EXISTS facts_unit_key ON facts (unit_key, period_code);
CREATE INDEX IF NOT EXISTS unit_current_current ON unit_current (current_key);

-- Each unit version on the two bases a figure can be read on: 'reported' (the unit itself)
-- and 'now' (today's unit it went to through the reform: a merge whole, a split by its
-- documented share; a split without shares has no 'now' row).
CREATE VIEW unit_bases AS
SELECT
    'reported' AS basis,
    unit_key,
    unit_key AS mapped_key,
    CAST(1 AS NUMERIC(18, 6)) AS share
FROM units
UNION ALL
SELECT
    'now' AS basis,
    unit_key,
    current_key AS mapped_key,
    CAST(COALESCE(share, 1) AS NUMERIC(18, 6)) AS share
FROM unit_current
WHERE mappable = 1;

-- Which figures a unit's values go into, on each basis: every unit of the tree above the
-- unit it maps onto (that unit included, ancestor_key), with the mapped unit's code and
-- level and the share. The one join path from a reported unit to the figures it feeds, for
-- figure_lineage and the trace.
CREATE VIEW unit_feeds AS
SELECT
    b.basis,
    b.unit_key,
    b.mapped_key,
    mu.code AS mapped_code,
    mu.level,
    b.share,
    t.ancestor_key
FROM unit_bases AS b
INNER JOIN units AS mu ON b.mapped_key = mu.unit_key
INNER JOIN unit_tree AS t ON b.mapped_key = t.unit_key;

-- What is behind each figure, for analysts who must defend one: every fact that goes into
-- the figure of a unit of the tree (figure_unit_*) for a period or a year (figure_period_code;
-- a quarterly fact of a summed metric also feeds its year), by the rules of
-- sql/queries/figures.sql, with the file, sheet and cell it was read from. basis 'reported'
-- takes the units as they reported; 'now' maps them onto today's units (a merge whole, a split
-- by its share: figure_value = value x share). level is the reporting unit's level (for
-- 'all', take every level). The figure of a summed metric is SUM(figure_value) over its rows.
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
    f.value * b.share AS figure_value,
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

-- Every value read from every delivery, whatever became of it (accepted, superseded by a
-- later one, held as a pending correction, rejected), so a figure's trace can show what was
-- sent besides what it took.
CREATE VIEW delivery_values AS
SELECT
    s.unit_code,
    s.unit_key,
    s.regime,
    s.period_code,
    v.metric_code,
    v.raw_value,
    v.value,
    v.sheet,
    v.cell,
    s.submission_id,
    s.original_name,
    s.archive_path,
    s.status,
    s.superseded_by,
    s.received_at
FROM submission_values AS v
INNER JOIN submissions AS s ON v.submission_id = s.submission_id;

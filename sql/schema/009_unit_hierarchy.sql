-- The unit tree with its history, built from the catalog (commune_reports.hierarchy) on every
-- catalog change. unit_tree holds each unit version with itself (depth 0) and every ancestor,
-- so "every unit under huyện Tháp Mười" is one join and needs no recursion.
CREATE TABLE IF NOT EXISTS unit_tree (
    ancestor_key TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    depth INTEGER NOT NULL,
    PRIMARY KEY (ancestor_key, unit_key)
);

-- Direct successor links of a reform: a merge (share NULL) or a split (share of the old
-- unit's figures; mappable = 0 when the split has no documented shares).
CREATE TABLE IF NOT EXISTS unit_successors (
    unit_key TEXT NOT NULL,
    successor_key TEXT NOT NULL,
    share DOUBLE PRECISION,
    mappable INTEGER NOT NULL,
    PRIMARY KEY (unit_key, successor_key)
);

-- Where each unit version ends up through every reform: a unit of today (valid_to far
-- future). Units abolished with nothing after them (districts, district agencies) have none.
CREATE TABLE IF NOT EXISTS unit_current (
    unit_key TEXT NOT NULL,
    current_key TEXT NOT NULL,
    share DOUBLE PRECISION,
    mappable INTEGER NOT NULL,
    PRIMARY KEY (unit_key, current_key)
);

-- Each fact mapped to today's units: a merged unit's figures go whole to its successor, a
-- split's by its documented share; a split with no shares is left out (not mappable).
CREATE VIEW facts_as_now AS
SELECT
    cu.code AS unit_code,
    cu.name AS unit_name,
    c.current_key AS unit_key,
    f.unit_code AS reported_unit_code,
    f.unit_key AS reported_unit_key,
    f.regime,
    f.period_code,
    f.metric_code,
    f.value * COALESCE(c.share, 1.0) AS value,
    c.share,
    f.submission_id,
    f.sheet,
    f.cell
FROM facts AS f
INNER JOIN unit_current AS c ON f.unit_key = c.unit_key AND c.mappable = 1
INNER JOIN units AS cu ON c.current_key = cu.unit_key;

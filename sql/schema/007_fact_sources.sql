-- Each fact with where it came from, for analysts who must defend a figure: the unit's and
-- metric's names, the file, sheet and cell it was read from, and when that file was received.
CREATE VIEW fact_sources AS
SELECT
    f.unit_code,
    u.name AS unit_name,
    f.regime,
    f.period_code,
    f.metric_code,
    m.label AS metric_label,
    m.unit_of_measure,
    f.value,
    f.submission_id,
    s.original_name,
    f.sheet,
    f.cell,
    s.received_at,
    s.received_via
FROM facts AS f
INNER JOIN submissions AS s ON f.submission_id = s.submission_id
LEFT JOIN units AS u ON f.unit_key = u.unit_key
LEFT JOIN metrics AS m ON f.metric_code = m.code;

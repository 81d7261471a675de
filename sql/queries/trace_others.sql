-- What was sent for a figure and not taken: every value of the metrics of :metric_list that
-- a unit under :unit_key (as reported, or through today's units with :basis = 'now') sent at
-- :level for a period of :code_list in a delivery that is not the accepted one (superseded by
-- a later one, held as a pending correction, rejected, or still in flight).
SELECT DISTINCT
    d.metric_code,
    d.unit_code,
    d.period_code,
    d.value,
    d.raw_value,
    d.sheet,
    d.cell,
    d.submission_id,
    d.original_name,
    d.archive_path,
    d.status,
    d.superseded_by,
    d.received_at
FROM delivery_values AS d
INNER JOIN period_groups AS g ON d.regime = g.regime AND d.period_code = g.period_code
INNER JOIN unit_feeds AS b ON d.unit_key = b.unit_key
WHERE
    b.basis = :basis
    AND b.ancestor_key = :unit_key
    AND d.status <> 'accepted'
    AND CAST(:metric_list AS TEXT) LIKE '%,' || d.metric_code || ',%'
    AND CAST(:code_list AS TEXT) LIKE '%,' || g.group_code || ',%'
    AND (CAST(:level AS TEXT) = 'all' OR b.level = :level)
ORDER BY d.metric_code, d.period_code, d.unit_code, d.received_at

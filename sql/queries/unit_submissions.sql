-- Every file received from the units at or under :unit_key for the periods of :code_list
-- (between commas: ',2023Q4,2023,'), whatever its status, oldest first: a unit's page lists
-- what it sent period by period, including what was rejected, held or superseded.
SELECT
    s.submission_id,
    s.unit_code,
    s.unit_key,
    s.regime,
    s.period_code,
    s.original_name,
    s.received_at,
    s.received_via,
    s.batch_id,
    s.status,
    s.error_count,
    s.superseded_by
FROM submissions AS s
INNER JOIN unit_tree AS t ON s.unit_key = t.unit_key
WHERE
    t.ancestor_key = :unit_key
    AND CAST(:code_list AS TEXT) LIKE '%,' || s.period_code || ',%'
ORDER BY s.unit_code, s.period_code, s.received_at, s.arrival_seq, s.submission_id

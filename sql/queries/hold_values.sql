-- The values the blocking checks (check_rules with severity 'block') compare, for the units
-- of the deliveries of batch :batch_id about to load (still 'validated'): the facts loaded
-- (submission_id NULL) and those deliveries' values; the caller takes a delivery's value
-- over the fact, the latest delivery over an earlier one.
WITH block_metrics AS (
    SELECT metric_code AS code
    FROM check_rules
    WHERE severity = 'block'
    UNION
    SELECT other_metric AS code
    FROM check_rules
    WHERE severity = 'block'
),

incoming AS (
    SELECT
        submission_id,
        unit_code,
        period_code
    FROM submissions
    WHERE batch_id = :batch_id AND status = 'validated'
)

SELECT
    f.unit_code,
    f.metric_code,
    f.period_code,
    f.value,
    f.sheet,
    f.cell,
    NULL AS submission_id
FROM facts AS f
INNER JOIN block_metrics AS m ON f.metric_code = m.code
WHERE
    f.value IS NOT NULL
    AND f.unit_code IN (SELECT i.unit_code FROM incoming AS i)
UNION ALL
SELECT
    i.unit_code,
    v.metric_code,
    i.period_code,
    v.value,
    v.sheet,
    v.cell,
    i.submission_id
FROM incoming AS i
INNER JOIN submission_values AS v ON i.submission_id = v.submission_id
INNER JOIN block_metrics AS m ON v.metric_code = m.code
WHERE v.value IS NOT NULL

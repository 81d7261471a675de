-- The mailed-in items whose verdict has not reached everyone yet, with their submission's
-- status, unit, period and deadline (commune_reports.intake.replies).
SELECT
    i.source,
    i.item_key,
    i.part,
    i.name,
    i.outcome,
    i.sender,
    i.message_id,
    i.subject,
    i.received_at,
    s.submission_id,
    s.status,
    s.unit_code,
    s.period_code,
    s.received_at AS submission_received_at,
    p.deadline_at
FROM intake_items AS i
LEFT JOIN submissions AS s ON i.submission_id = s.submission_id
LEFT JOIN periods AS p ON s.regime = p.regime AND s.period_code = p.period_code
WHERE i.sender IS NOT NULL AND i.answered_at IS NULL
ORDER BY i.received_at, i.source, i.item_key, i.part

-- The deliveries that are their unit's current one for the period (none received later;
-- between two received the same second, none arrived later) and that were refused
-- (rejected) or held: Data Docs keep the validation result that says why, however old.
SELECT s.submission_id
FROM submissions AS s
WHERE
    s.status IN ('rejected', 'held')
    AND NOT EXISTS (
        SELECT 1
        FROM submissions AS later
        WHERE
            later.unit_code = s.unit_code
            AND later.regime = s.regime
            AND later.period_code = s.period_code
            AND (
                later.received_at > s.received_at
                OR (
                    later.received_at = s.received_at
                    AND later.arrival_seq > s.arrival_seq
                )
            )
    )
ORDER BY s.submission_id

-- The files held by a blocking check, with why (submission_holds), of the period :period
-- ('' for every period), oldest first.
SELECT
    s.submission_id,
    s.unit_code,
    s.regime,
    s.period_code AS submission_period,
    s.original_name,
    h.check_code,
    h.sheet,
    h.cell,
    h.message_vi,
    h.message_en
FROM submissions AS s
INNER JOIN submission_holds AS h ON s.submission_id = h.submission_id
WHERE
    s.status = 'held'
    AND (CAST(:period AS TEXT) = '' OR s.period_code = :period)
ORDER BY s.received_at, s.arrival_seq, h.check_code, h.period_code

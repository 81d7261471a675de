-- Completeness as of :as_of (UTC): every unit that must send a regime's form and exists at
-- the end of the period, with on_time / late (first accepted delivery before or after the
-- deadline), rejected (only unusable files received) or missing. Deliveries received after
-- :as_of are not counted. Only the periods of :code_list (between commas), or every period
-- with :all_groups = 1, so a run reads the deliveries of its periods, not of all history.
-- Used for the completeness mart (as of the latest data) and by
-- `commune-reports completeness --as-of`.
WITH expected AS (
    SELECT DISTINCT
        p.regime,
        p.period_code,
        p.deadline,
        p.deadline_at,
        u.code AS unit_code,
        u.unit_key,
        u.name AS unit_name,
        u.level
    FROM periods AS p
    INNER JOIN metrics AS m ON p.regime = m.regime
    INNER JOIN metric_requirements AS mr ON m.code = mr.metric_code
    INNER JOIN units AS u
        ON
            mr.unit_key = u.unit_key
            AND p.end_date >= u.valid_from
            AND p.end_date <= u.valid_to
    WHERE :all_groups = 1 OR CAST(:code_list AS TEXT) LIKE '%,' || p.period_code || ',%'
),

delivered AS (
    SELECT
        regime,
        period_code,
        unit_code,
        MIN(CASE WHEN status IN ('accepted', 'superseded') THEN received_at END)
            AS first_accepted_at,
        MAX(CASE WHEN status = 'accepted' THEN submission_id END) AS current_submission,
        -- a file held by a blocking check counts as rejected: sent, to be corrected
        MAX(CASE WHEN status IN ('rejected', 'held') THEN submission_id END)
            AS rejected_submission,
        SUM(CASE WHEN status IN ('rejected', 'held') THEN 1 ELSE 0 END) AS rejected_count
    FROM submissions
    WHERE
        unit_code IS NOT NULL
        AND period_code IS NOT NULL
        AND received_at <= :as_of
        AND (:all_groups = 1 OR CAST(:code_list AS TEXT) LIKE '%,' || period_code || ',%')
    GROUP BY regime, period_code, unit_code
)

SELECT
    e.regime,
    e.period_code,
    e.unit_code,
    e.unit_key,
    e.unit_name,
    e.level,
    e.deadline,
    CASE
        WHEN d.first_accepted_at IS NOT NULL AND d.first_accepted_at < e.deadline_at
            THEN 'on_time'
        WHEN d.first_accepted_at IS NOT NULL THEN 'late'
        WHEN d.rejected_count > 0 THEN 'rejected'
        ELSE 'missing'
    END AS status,
    COALESCE(d.current_submission, d.rejected_submission) AS submission_id,
    d.first_accepted_at AS received_at,
    COALESCE(d.rejected_count, 0) AS rejected_count
FROM expected AS e
LEFT JOIN delivered AS d
    ON
        e.regime = d.regime
        AND e.period_code = d.period_code
        AND e.unit_code = d.unit_code

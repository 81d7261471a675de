-- Who has reported, per regime and period run: every unit that must send that regime's form
-- and exists at the end of the period. on_time / late compare the first accepted delivery
-- with the deadline; rejected = only unusable files received; missing = nothing received.
DELETE FROM completeness;

INSERT INTO completeness (
    regime, period_code, unit_code, unit_key, level, status, submission_id, received_at,
    rejected_count
)
WITH expected AS (
    SELECT DISTINCT
        p.regime,
        p.period_code,
        p.deadline_at,
        u.code AS unit_code,
        u.unit_key,
        u.level
    FROM periods AS p
    INNER JOIN metrics AS m ON p.regime = m.regime
    INNER JOIN metric_requirements AS mr ON m.code = mr.metric_code
    INNER JOIN units AS u
        ON
            mr.unit_key = u.unit_key
            AND p.end_date >= u.valid_from
            AND p.end_date <= u.valid_to
),

delivered AS (
    SELECT
        regime,
        period_code,
        unit_code,
        MIN(CASE WHEN status IN ('accepted', 'superseded') THEN received_at END)
            AS first_accepted_at,
        MAX(CASE WHEN status = 'accepted' THEN submission_id END) AS current_submission,
        SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected_count
    FROM submissions
    WHERE unit_code IS NOT NULL AND period_code IS NOT NULL
    GROUP BY regime, period_code, unit_code
)

SELECT
    e.regime,
    e.period_code,
    e.unit_code,
    e.unit_key,
    e.level,
    CASE
        WHEN d.first_accepted_at IS NOT NULL AND d.first_accepted_at < e.deadline_at
            THEN 'on_time'
        WHEN d.first_accepted_at IS NOT NULL THEN 'late'
        WHEN d.rejected_count > 0 THEN 'rejected'
        ELSE 'missing'
    END AS status,
    d.current_submission AS submission_id,
    d.first_accepted_at AS received_at,
    COALESCE(d.rejected_count, 0) AS rejected_count
FROM expected AS e
LEFT JOIN delivered AS d
    ON
        e.regime = d.regime
        AND e.period_code = d.period_code
        AND e.unit_code = d.unit_code;

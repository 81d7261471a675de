-- For the report's caveats: per regime and period of :code_list (codes between commas:
-- ',2023Q4,'), the units expected under the report's unit (:unit_key) and how many of them
-- have sent an accepted form (on time or late). With :as_now = 1 the units are those that
-- became today's units under it.
WITH mapped AS (
    SELECT
        unit_key,
        unit_key AS mapped_key
    FROM units
    WHERE :as_now = 0
    UNION ALL
    SELECT
        unit_key,
        current_key AS mapped_key
    FROM unit_current
    WHERE :as_now = 1 AND mappable = 1
)

SELECT
    c.regime,
    c.period_code,
    COUNT(DISTINCT c.unit_key) AS units_expected,
    COUNT(DISTINCT CASE WHEN c.status IN ('on_time', 'late') THEN c.unit_key END)
        AS units_reported
FROM completeness AS c
INNER JOIN mapped AS mp ON c.unit_key = mp.unit_key
INNER JOIN unit_tree AS t ON mp.mapped_key = t.unit_key
WHERE
    t.ancestor_key = :unit_key
    AND CAST(:code_list AS TEXT) LIKE '%,' || c.period_code || ',%'
GROUP BY c.regime, c.period_code
ORDER BY c.period_code, c.regime

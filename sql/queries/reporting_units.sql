-- The units with figures in the periods of :code_list (',2023,'; a year brings its
-- quarters), as they reported or, with :as_now = 1, as today's units they map to: a report
-- without --unit is about the smallest unit above all of them.
WITH wanted AS (
    SELECT
        regime,
        period_code
    FROM periods
    WHERE
        CAST(:code_list AS TEXT) LIKE '%,' || period_code || ',%'
        OR (
            period_type = 'quarter'
            AND CAST(:code_list AS TEXT) LIKE '%,' || CAST(year AS TEXT) || ',%'
        )
),

reporting AS (
    SELECT DISTINCT f.unit_key
    FROM facts AS f
    INNER JOIN wanted AS w ON f.regime = w.regime AND f.period_code = w.period_code
)

SELECT r.unit_key
FROM reporting AS r
WHERE :as_now = 0
UNION
SELECT c.current_key AS unit_key
FROM reporting AS r
INNER JOIN unit_current AS c ON r.unit_key = c.unit_key AND c.mappable = 1
WHERE :as_now = 1

-- The period codes whose checks a build rewrites: those of its marts (mart_scope) and the
-- same periods a year later, whose swing compares with them ('2022' -> '2023',
-- '2022Q4' -> '2023Q4').
SELECT s.code
FROM query_mart_scope AS s
UNION
SELECT CAST(CAST(SUBSTR(s.code, 1, 4) AS INTEGER) + 1 AS TEXT) || SUBSTR(s.code, 5) AS code
FROM query_mart_scope AS s

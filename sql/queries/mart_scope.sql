-- The period codes whose marts a build rewrites: every period and year (:all_groups = 1), or
-- those of :code_list (codes between commas: ',2023Q4,2023,'). Each mart file deletes these
-- before it inserts them again.
SELECT DISTINCT g.group_code AS code
FROM period_groups AS g
WHERE :all_groups = 1 OR CAST(:code_list AS TEXT) LIKE '%,' || g.group_code || ',%'

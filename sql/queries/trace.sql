-- The facts behind one figure (the figure_lineage view): of the unit :unit_key, for the
-- periods of :code_list (between commas: ',2022,'), for the metrics of :metric_list, at :level
-- ('all' for every level), as reported (:basis = 'reported') or as today's units ('now').
SELECT
    l.metric_code,
    l.figure_period_code,
    l.level,
    l.unit_code,
    l.unit_key,
    l.unit_name,
    l.mapped_unit_code,
    l.regime,
    l.period_code,
    l.value,
    l.share,
    l.figure_value,
    l.definition_version,
    l.submission_id,
    l.original_name,
    l.archive_path,
    l.sheet,
    l.cell,
    l.received_at
FROM figure_lineage AS l
WHERE
    l.basis = :basis
    AND l.figure_unit_key = :unit_key
    AND CAST(:code_list AS TEXT) LIKE '%,' || l.figure_period_code || ',%'
    AND CAST(:metric_list AS TEXT) LIKE '%,' || l.metric_code || ',%'
    AND (CAST(:level AS TEXT) = 'all' OR l.level = :level)
ORDER BY l.metric_code, l.period_code, l.unit_code, l.sheet, l.cell

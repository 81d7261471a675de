-- What was wrong with the files of sql/queries/unit_submissions.sql: every problem found when
-- reading or validating a file (submission_errors) and every finding that holds one
-- (submission_holds), with its sheet, cell and message in Vietnamese and English.
WITH sent AS (
    SELECT s.submission_id
    FROM submissions AS s
    INNER JOIN unit_tree AS t ON s.unit_key = t.unit_key
    WHERE
        t.ancestor_key = :unit_key
        AND CAST(:code_list AS TEXT) LIKE '%,' || s.period_code || ',%'
)

SELECT
    e.submission_id,
    0 AS source_order,
    e.seq,
    e.rule,
    e.sheet,
    e.cell,
    e.message_vi,
    e.message_en
FROM submission_errors AS e
INNER JOIN sent ON e.submission_id = sent.submission_id
UNION ALL
SELECT
    h.submission_id,
    1 AS source_order,
    0 AS seq,
    h.check_code AS rule,
    h.sheet,
    h.cell,
    h.message_vi,
    h.message_en
FROM submission_holds AS h
INNER JOIN sent ON h.submission_id = sent.submission_id
ORDER BY 1, 2, 3

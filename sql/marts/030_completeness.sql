-- Who has reported, per regime and period run, as of the latest data: the rows of
-- sql/queries/completeness.sql, which the marts step inserts into the completeness table.
DELETE FROM completeness;

-- The figures of this build are in the marts: drop the temporary table 005 made.
DROP TABLE mart_figures;

-- What the reader noted in a file it still loaded (a hidden sheet ignored, a totals row
-- checked and skipped, legacy-font text converted, the unit taken from the heading line...).
CREATE TABLE IF NOT EXISTS submission_warnings (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    seq INTEGER NOT NULL,
    stage TEXT NOT NULL,
    rule TEXT NOT NULL,
    sheet TEXT,
    cell TEXT,
    metric_code TEXT,
    found TEXT,
    message_vi TEXT NOT NULL,
    message_en TEXT NOT NULL,
    PRIMARY KEY (submission_id, seq)
);

-- The ledger: every received file, content-addressed (submission_id = sha256 of its bytes).
-- status: received -> parsed -> validated -> accepted | rejected; accepted -> superseded.
CREATE TABLE IF NOT EXISTS submissions (
    submission_id TEXT PRIMARY KEY,
    original_name TEXT NOT NULL,
    inbox_path TEXT NOT NULL,
    archive_path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    registered_at TIMESTAMP WITH TIME ZONE NOT NULL,
    batch_id TEXT NOT NULL,
    inbox_period TEXT,
    unit_code TEXT,
    unit_key TEXT,
    regime TEXT,
    period_code TEXT,
    sheet TEXT,
    status TEXT NOT NULL,
    error_count INTEGER NOT NULL DEFAULT 0,
    superseded_by TEXT
);

CREATE INDEX IF NOT EXISTS submissions_batch ON submissions (batch_id, status);
CREATE INDEX IF NOT EXISTS submissions_unit_period ON submissions (unit_code, regime, period_code);

-- Every value cell read from a submission, as found (raw) and as a number; kept for tracing.
CREATE TABLE IF NOT EXISTS submission_values (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    sheet TEXT NOT NULL,
    cell TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    raw_value TEXT,
    value NUMERIC(18, 4),
    PRIMARY KEY (submission_id, sheet, cell)
);

-- One row per problem found in a submission: file, sheet, cell, rule and message (VI, EN).
CREATE TABLE IF NOT EXISTS submission_errors (
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

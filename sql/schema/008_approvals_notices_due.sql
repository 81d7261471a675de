-- The district's decisions on a period's report, each kept: who approved it, when, how (the
-- command line or Airflow's required actions) and how many pending corrections it applied.
-- While a period's latest decision is 'approved', a new delivery for it is held as
-- 'pending_correction' and changes no fact until a later approval applies it.
CREATE TABLE IF NOT EXISTS period_approvals (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    decision TEXT NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE NOT NULL,
    decided_by TEXT NOT NULL,
    via TEXT NOT NULL,
    corrections_applied INTEGER NOT NULL DEFAULT 0,
    note TEXT,
    PRIMARY KEY (regime, period_code, seq)
);

-- Notices owed about one submission, written in the same transaction as the status change
-- that calls for them (a rejection, a correction held for approval), so none is lost or
-- invented for files handled before; delivered once per channel and recipient (notices_sent).
CREATE TABLE IF NOT EXISTS notices_due (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    kind TEXT NOT NULL,
    due_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (submission_id, kind)
);

-- Receipt time, arrival order and the audit of every status change.
--
-- received_at is when the pipeline first saw the file (discovery's clock), or the time stated
-- for a historical load (received_via = 'stated'); the sender cannot set it. The file's own
-- modification time is kept in file_modified_at for information only (and to flag a
-- replacement older than what it replaces). arrival_seq orders deliveries seen at the same
-- second. Files received before this change kept their modification time as receipt time.
ALTER TABLE submissions ADD COLUMN file_modified_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE submissions ADD COLUMN received_via TEXT;

ALTER TABLE submissions ADD COLUMN arrival_seq INTEGER;

UPDATE submissions SET
    file_modified_at = received_at,
    received_via = 'file_time'
WHERE received_via IS NULL;

UPDATE submissions SET arrival_seq = ordered.n
FROM (
    SELECT
        submission_id,
        ROW_NUMBER() OVER (ORDER BY registered_at, received_at, submission_id) AS n
    FROM submissions
) AS ordered
WHERE submissions.submission_id = ordered.submission_id;

CREATE UNIQUE INDEX IF NOT EXISTS submissions_arrival ON submissions (arrival_seq);

-- Every status a submission took, in order: what changed it (the run's batch id or the
-- command), when, from and to, and why where a reason is known.
CREATE TABLE IF NOT EXISTS submission_events (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    seq INTEGER NOT NULL,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (submission_id, seq)
);

-- Notices about one submission (a replacement older than the file it replaced, ...) delivered
-- to a recipient on a channel; recorded only once delivered, so a rerun sends nothing twice.
CREATE TABLE IF NOT EXISTS notices_sent (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (submission_id, kind, channel, recipient)
);

-- submissions received before the audit existed: their status then, as their first event
INSERT INTO submission_events (submission_id, seq, at, actor, from_status, to_status, note)
SELECT
    submission_id,
    1 AS seq,
    registered_at AS at,
    'schema 006' AS actor,
    NULL AS from_status,
    status AS to_status,
    'status when the audit began' AS note
FROM submissions;

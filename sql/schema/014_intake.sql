-- Where each delivery came from, when it is not the local inbox folder: a mailbox (IMAP), an
-- SFTP drop or an object-store prefix (commune_reports.intake).
--   * intake_items: one row per thing a source offered, keyed by the source and the item's
--     remote key (a message's Message-ID, a remote file's path, time and size) and its part
--     (the attachment's place in the message, '-' for a message with nothing to take), so
--     that an item is never taken twice. received_at is the server's receipt time (IMAP's
--     INTERNALDATE, the store's write time, or when the pipeline first saw an SFTP file);
--     outcome says what became of it: taken, duplicate (the same bytes were received
--     before), archive (a zip of forms), not_a_form, no_attachment, automatic (an
--     auto-reply or bounce, never answered).
--     answered_at is set on a message's rows once its verdict reached every recipient.
--   * intake_replies: the verdict mailed back for an item, once per recipient, written only
--     once it was delivered.
CREATE TABLE IF NOT EXISTS intake_items (
    source TEXT NOT NULL,
    item_key TEXT NOT NULL,
    part TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    submission_id TEXT,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    sender TEXT,
    message_id TEXT,
    subject TEXT,
    taken_at TIMESTAMP WITH TIME ZONE NOT NULL,
    batch_id TEXT NOT NULL,
    answered_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (source, item_key, part)
);

CREATE INDEX IF NOT EXISTS intake_items_submission ON intake_items (submission_id);

CREATE TABLE IF NOT EXISTS intake_replies (
    source TEXT NOT NULL,
    item_key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (source, item_key, recipient)
);

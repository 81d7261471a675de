-- Every alert delivered, one row per stage, unit, channel and recipient: the ledger that makes
-- a rerun send nothing twice. A failed delivery is never recorded here, so it is retried.
-- unit_code is '*' for the district roll-up, which names every unit in one message.
CREATE TABLE IF NOT EXISTS alerts_sent (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    stage TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    units_named TEXT NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (regime, period_code, stage, unit_code, channel, recipient)
);

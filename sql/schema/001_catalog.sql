-- Reference data copied from include/commune_reports/catalog/*.csv on every run.
-- Units are keyed by code AND validity start: GSO codes are reused for new areas (2025 reform).
CREATE TABLE IF NOT EXISTS units (
    unit_key TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_type TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_code TEXT,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    successor_code TEXT
);

CREATE TABLE IF NOT EXISTS metrics (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    unit_of_measure TEXT NOT NULL,
    regime TEXT NOT NULL,
    value_kind TEXT NOT NULL,
    aggregation TEXT NOT NULL,
    may_be_blank INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS metric_requirements (
    metric_code TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    PRIMARY KEY (metric_code, unit_key)
);

CREATE TABLE IF NOT EXISTS rates (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    numerator TEXT NOT NULL,
    denominator TEXT NOT NULL
);

-- One row per regime and period that has been run: Decree 09 cut-off window and deadline.
-- deadline_at is the first instant after the deadline day (Asia/Ho_Chi_Minh), stored in UTC.
CREATE TABLE IF NOT EXISTS periods (
    regime TEXT NOT NULL,
    period_code TEXT NOT NULL,
    period_type TEXT NOT NULL,
    year INTEGER NOT NULL,
    quarter INTEGER NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    cutoff_start DATE NOT NULL,
    cutoff_end DATE NOT NULL,
    deadline DATE NOT NULL,
    deadline_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (regime, period_code)
);

-- Fingerprint of the catalog last copied into the tables above (one row).
CREATE TABLE IF NOT EXISTS catalog_state (
    fingerprint TEXT NOT NULL
);

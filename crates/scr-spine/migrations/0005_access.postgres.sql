-- The access model (issue 13): what a summary read relied on and what it raised, the
-- relationships that let an organisation see a patient, the patients each user and
-- organisation has opened lately (volume limits), and the privacy officer's alerts.

-- Covered by the hash when present (see chain.rs); NULL on entries from before.
ALTER TABLE audit ADD COLUMN relationship TEXT;
ALTER TABLE audit ADD COLUMN justification TEXT;
-- The alert kinds raised, space-separated.
ALTER TABLE audit ADD COLUMN alerts TEXT;

-- Encounters and referrals open at an organisation (from hospital and GP uploads, and the
-- demo seed), and self-claimed relationships (one user's, until `ends_at`).
CREATE TABLE care_relationships (
    nhs_number      TEXT NOT NULL REFERENCES patients (nhs_number),
    org_ods         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    opened_at       BIGINT NOT NULL,
    ends_at         BIGINT,
    PRIMARY KEY (nhs_number, org_ods, kind, user_id)
);

-- The last time each scope (`user:ID`, `org:ODS`) opened each patient: the distinct
-- patients opened in a window are the rows whose `opened_at` falls in it.
CREATE TABLE recent_opens (
    scope           TEXT NOT NULL,
    nhs_number      TEXT NOT NULL,
    opened_at       BIGINT NOT NULL,
    PRIMARY KEY (scope, nhs_number)
);
CREATE INDEX recent_opens_window ON recent_opens (scope, opened_at);

-- One row per alert raised by an audit entry: the privacy officer's work list. The entry
-- itself is in the chain; the review is audited as an entry of its own.
CREATE TABLE alerts (
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    at              BIGINT NOT NULL,
    for_org         TEXT NOT NULL,
    user_id         TEXT,
    patient         TEXT,
    reviewed_by     TEXT,
    reviewed_at     BIGINT,
    note            TEXT,
    PRIMARY KEY (seq, kind)
);
CREATE INDEX alerts_open ON alerts (for_org, reviewed_at, at);

-- Expired challenges and sessions are purged on a timer; these make the purge an index range.
CREATE INDEX challenges_expires ON challenges (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- A session records the certificate it was opened with, so revoking the certificate ends
-- it at once (NULL on sessions opened before this version; they still expire).
ALTER TABLE sessions ADD COLUMN cert_serial TEXT;
CREATE INDEX sessions_cert ON sessions (cert_serial);

-- Upload identifiers are unique per uploading practice, not globally: practice A cannot
-- squat an identifier practice B will use. Rows from before this version were accepted only
-- from the patient's registered practice, which stands in for the uploader.
CREATE TABLE uploads_by_practice (
    uploader_ods    TEXT NOT NULL,
    bundle_id       TEXT NOT NULL,
    nhs_number      TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (uploader_ods, bundle_id)
);
INSERT INTO uploads_by_practice (uploader_ods, bundle_id, nhs_number, body_sha256, outcome, at)
    SELECT COALESCE(p.gp_ods, ''), u.bundle_id, u.nhs_number, u.body_sha256, u.outcome, u.at
    FROM uploads u LEFT JOIN patients p ON p.nhs_number = u.nhs_number;
DROP TABLE uploads;
ALTER TABLE uploads_by_practice RENAME TO uploads;

-- The readiness probe's write: one row the audit writer rewrites inside a transaction.
CREATE TABLE heartbeat (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    at              INTEGER NOT NULL
);
INSERT INTO heartbeat (id, at) VALUES (1, 0);

-- The audit trail is append-only for everyone who uses the spine's SQL: editing or deleting
-- an entry, or moving the chain head backwards, is refused. (Whoever can drop a trigger can
-- still do it; the signed checkpoints outside the database catch that.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward');
END;

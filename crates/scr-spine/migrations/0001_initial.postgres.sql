-- Demographics (the spine's PDS-like patient index). Names are stored upper-case with their
-- Soundex codes so a trace finds candidates by index, then scores them in memory.
CREATE TABLE patients (
    nhs_number      TEXT PRIMARY KEY,
    family          TEXT NOT NULL,
    given           TEXT NOT NULL,
    family_upper    TEXT NOT NULL,
    given_upper     TEXT NOT NULL,
    family_soundex  TEXT NOT NULL,
    birth_date      TEXT NOT NULL,
    gender          TEXT NOT NULL,
    postcode        TEXT,
    gp_ods          TEXT,
    restricted      BIGINT NOT NULL DEFAULT 0,
    record          TEXT NOT NULL
);
CREATE INDEX patients_birth_date ON patients (birth_date);
CREATE INDEX patients_family ON patients (family_upper, birth_date);
CREATE INDEX patients_family_soundex ON patients (family_soundex, birth_date);

-- The current summary per patient (model JSON). Absent for patients who dissented.
CREATE TABLE summaries (
    nhs_number      TEXT PRIMARY KEY REFERENCES patients (nhs_number),
    practice_ods    TEXT,
    updated_at      BIGINT NOT NULL,
    summary         TEXT NOT NULL
);

-- The sharing preference; kept after dissent so reception can confirm it.
CREATE TABLE consents (
    nhs_number      TEXT PRIMARY KEY REFERENCES patients (nhs_number),
    preference      TEXT NOT NULL,
    code            TEXT NOT NULL,
    recorded        TEXT NOT NULL,
    recorded_by_ods TEXT
);

-- Idempotency of GP uploads: the same Bundle identifier is applied once.
CREATE TABLE uploads (
    bundle_id       TEXT PRIMARY KEY,
    nhs_number      TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    at              BIGINT NOT NULL
);

-- Staff and system identities, their certificates (by serial) and role profiles.
CREATE TABLE users (
    user_id         TEXT PRIMARY KEY,
    name            TEXT NOT NULL
);
CREATE TABLE certificates (
    serial_hex      TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    revoked         BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE role_profiles (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    role_code       TEXT NOT NULL,
    role_name       TEXT NOT NULL,
    org_ods         TEXT NOT NULL,
    org_name        TEXT NOT NULL,
    activities      TEXT NOT NULL
);
CREATE INDEX role_profiles_user ON role_profiles (user_id);

CREATE TABLE challenges (
    id              TEXT PRIMARY KEY,
    certificate     BYTEA NOT NULL,
    nonce           BYTEA NOT NULL,
    expires_at      BIGINT NOT NULL,
    used            BIGINT NOT NULL DEFAULT 0
);

-- Sessions are held by the hash of their token only.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    role_profile_id TEXT,
    created_at      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked         BIGINT NOT NULL DEFAULT 0
);

-- The audit trail: append-only, hash-chained.
CREATE TABLE audit (
    seq             BIGINT PRIMARY KEY,
    at              BIGINT NOT NULL,
    user_id         TEXT,
    user_name       TEXT,
    role_code       TEXT,
    org_ods         TEXT,
    patient         TEXT,
    action          TEXT NOT NULL,
    reason          TEXT,
    outcome         TEXT NOT NULL,
    detail          TEXT,
    alert           BIGINT NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_patient ON audit (patient, seq);
CREATE INDEX audit_user ON audit (user_id, seq);
CREATE INDEX audit_alert ON audit (alert, seq);

-- The head of the chain, one row, locked by each appending transaction.
CREATE TABLE audit_head (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

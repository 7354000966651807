-- A certificate is named by its issuer and serial together: RFC 5280 makes a serial unique
-- only within one issuer, so with a second CA trusted two cards could share a serial and
-- one would sign in as the other's holder. `issuer_key` is the SHA-256 (hex) of the issuer
-- Name's DER. Rows from before this version have '' and are claimed for the spine's own CA
-- when the store is opened with its data folder (every earlier certificate came from it).
ALTER TABLE certificates ADD COLUMN issuer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates DROP CONSTRAINT certificates_pkey;
ALTER TABLE certificates ADD PRIMARY KEY (issuer_key, serial_hex);
ALTER TABLE certificates ALTER COLUMN issuer_key DROP DEFAULT;

ALTER TABLE sessions ADD COLUMN cert_issuer TEXT;
DROP INDEX sessions_cert;
CREATE INDEX sessions_cert ON sessions (cert_issuer, cert_serial);

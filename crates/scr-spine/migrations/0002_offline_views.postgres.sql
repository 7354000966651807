-- Views of offline copies, reported by the app after the fact: the app's id of the view
-- (each recorded once per user, so re-sending is safe) and when the view happened and the
-- copy was fetched (milliseconds since the epoch). NULL on every other entry.
ALTER TABLE audit ADD COLUMN view_id TEXT;
ALTER TABLE audit ADD COLUMN viewed_at BIGINT;
ALTER TABLE audit ADD COLUMN fetched_at BIGINT;
CREATE UNIQUE INDEX audit_offline_view ON audit (user_id, view_id);

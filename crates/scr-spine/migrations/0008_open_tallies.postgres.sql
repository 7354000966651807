-- How many distinct patients each scope (`user:ID`, `org:ODS`) last opened in each minute and
-- in each hour, kept with every `recent_opens` upsert: the volume counts sum at most
-- 60 + 24 + 60 of these rows, where counting `recent_opens` itself cost as much as the
-- scope had opened that day (a busy emergency department opens thousands of patients).
-- A re-open moves the patient's one count from its old buckets to the new ones.
CREATE TABLE open_tallies (
    scope           TEXT NOT NULL,
    span_ms         BIGINT NOT NULL,
    bucket          BIGINT NOT NULL,
    opens           BIGINT NOT NULL,
    PRIMARY KEY (scope, span_ms, bucket)
);

INSERT INTO open_tallies (scope, span_ms, bucket, opens)
    SELECT scope, 60000, opened_at / 60000, COUNT(*) FROM recent_opens GROUP BY scope, opened_at / 60000;
INSERT INTO open_tallies (scope, span_ms, bucket, opens)
    SELECT scope, 3600000, opened_at / 3600000, COUNT(*) FROM recent_opens GROUP BY scope, opened_at / 3600000;

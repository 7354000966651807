-- Flags before the summary (issue 13): a child protection attendance alerts the child's
-- responsible organisation, not the user's own. The organisation an entry's alert goes to,
-- where it is not the user's; covered by the hash when present (see chain.rs), NULL on
-- every other entry.
ALTER TABLE audit ADD COLUMN alert_org TEXT;

-- An audit row written by an activity carries the activity's identity, so
-- that a retried activity (its first attempt's answer lost) writes it once.
ALTER TABLE audit ADD COLUMN key text;
CREATE UNIQUE INDEX audit_key ON audit (incident_id, key) WHERE key IS NOT NULL;

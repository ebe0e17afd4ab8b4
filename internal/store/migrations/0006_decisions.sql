-- The policy's decision for each incident, and who the customer is, for
-- the guards (incidents and compensation per customer).
ALTER TABLE incidents ADD COLUMN customer_key text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN policy_version text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN decision jsonb;
CREATE INDEX incidents_customer ON incidents (customer_key, detected_at) WHERE customer_key <> '';

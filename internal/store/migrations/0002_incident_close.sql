-- How an incident ended: healed (its evidence went away) or resolved, why,
-- and when.
ALTER TABLE incidents ADD COLUMN resolution text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN closed_at timestamptz;

-- When an issued code was voided (a remedy undone), for the incident's
-- timeline in the console.
ALTER TABLE issued_codes ADD COLUMN voided_at timestamptz;

-- The wow wall: what a customer who answered WOW told us more (the
-- customer's words: exported with their data and blanked by erasure), and
-- whether ops starred the moment for the weekly digest; the digests sent,
-- a row per week.
ALTER TABLE incidents
    ADD COLUMN survey_comment    text        NOT NULL DEFAULT '',
    ADD COLUMN survey_starred_at timestamptz,
    ADD COLUMN survey_starred_by text        NOT NULL DEFAULT '';
CREATE INDEX incidents_wow ON incidents (survey_at) WHERE survey = 'wow';

CREATE TABLE weekly_digests (
    week    text        PRIMARY KEY, -- ISO week, 2026-W48
    sent_at timestamptz NOT NULL DEFAULT now()
);

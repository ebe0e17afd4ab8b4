-- What the console tells each approver by email: one row per incident,
-- reason (approval, escalated, attention, person:<step>) and person, so
-- that each is told once, and a failed send is tried again for that person
-- alone. Rows hold ids only: the email is written from the incident when
-- it is sent.
CREATE TABLE console_notices (
    id          bigserial   PRIMARY KEY,
    incident_id text        NOT NULL,
    reason      text        NOT NULL,
    user_name   text        NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    attempts    int         NOT NULL DEFAULT 0,
    sent_at     timestamptz,
    -- outcome: sent, obsolete (no longer waiting when its turn came),
    -- failed (given up after repeated failures)
    outcome     text,
    UNIQUE (incident_id, reason, user_name)
);
CREATE INDEX console_notices_unsent ON console_notices (user_name, id) WHERE sent_at IS NULL;

-- The daily budget of automatic approvals, reserved atomically: a row per
-- currency and UTC day with what is reserved, and a row per incident with
-- its reservation, so that a reservation is taken once and can be given
-- back (a heal before the remedy, a remedy that failed).
CREATE TABLE budget_days (
    currency text   NOT NULL,
    day      date   NOT NULL,
    reserved bigint NOT NULL,
    PRIMARY KEY (currency, day)
);
CREATE TABLE budget_reservations (
    incident_id text        PRIMARY KEY,
    currency    text        NOT NULL,
    day         date        NOT NULL,
    value_minor bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The contact ladder: what providers and customers said about each step,
-- opt-outs per channel and address, and the customer's survey answer.
ALTER TABLE contacts ADD COLUMN outcome text NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN detail text NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX contacts_to ON contacts (channel, to_addr, created_at DESC);

CREATE TABLE opt_outs (
    channel    text        NOT NULL,
    address    text        NOT NULL,
    source     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, address)
);

ALTER TABLE incidents ADD COLUMN survey text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN survey_via text NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN survey_at timestamptz;

-- Customers' email replies to an incident's messages, received through
-- SendGrid's Inbound Parse: a person reads every one (the apology says
-- so). Erasure blanks the sender and the text; the fact of a reply stays.
CREATE TABLE incident_replies (
    id          bigserial   PRIMARY KEY,
    incident_id text        NOT NULL REFERENCES incidents (id),
    step        int         NOT NULL,
    from_addr   text        NOT NULL,
    subject     text        NOT NULL DEFAULT '',
    body        text        NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_replies_incident ON incident_replies (incident_id, received_at);

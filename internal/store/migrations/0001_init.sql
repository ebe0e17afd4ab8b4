-- The events inbox: every event acknowledged to an integration, committed
-- before the 2xx. (source, id) is the idempotency key.
CREATE TABLE events (
    seq         bigserial   PRIMARY KEY,
    source      text        NOT NULL,
    id          text        NOT NULL,
    type        text        NOT NULL,
    order_id    text        NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL,
    subject     text        NOT NULL DEFAULT '',
    data        jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz,
    relay_note  text        NOT NULL DEFAULT '',
    UNIQUE (source, id)
);
CREATE INDEX events_pending ON events (seq) WHERE relayed_at IS NULL;
CREATE INDEX events_order ON events (order_id, seq);

-- Projections written by workflow activities and read by the API.
CREATE TABLE incidents (
    id          text        PRIMARY KEY,
    order_id    text        NOT NULL,
    shipment_id text        NOT NULL DEFAULT '',
    kind        text        NOT NULL,
    status      text        NOT NULL,
    detected_at timestamptz NOT NULL,
    evidence    jsonb       NOT NULL DEFAULT '[]',
    reason      text        NOT NULL DEFAULT '',
    workflow_id text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_order ON incidents (order_id);
CREATE INDEX incidents_status_kind ON incidents (status, kind);

CREATE TABLE offers (
    incident_id text        PRIMARY KEY REFERENCES incidents (id),
    remedy      text        NOT NULL,
    value_minor bigint      NOT NULL CHECK (value_minor >= 0),
    currency    char(3)     NOT NULL,
    status      text        NOT NULL,
    code        text        NOT NULL DEFAULT '',
    approved_by text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The contact ledger: one row per (incident, ladder step, channel), written
-- before the provider request, completed with the provider's id after it.
CREATE TABLE contacts (
    incident_id text        NOT NULL REFERENCES incidents (id),
    step        int         NOT NULL,
    channel     text        NOT NULL,
    to_addr     text        NOT NULL,
    subject     text        NOT NULL DEFAULT '',
    body        text        NOT NULL DEFAULT '',
    locale      text        NOT NULL DEFAULT '',
    status      text        NOT NULL,
    provider_id text        NOT NULL DEFAULT '',
    sent_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, step, channel)
);

-- Messages the capture adapter kept instead of sending (dev and tests).
CREATE TABLE captured_messages (
    id              bigserial   PRIMARY KEY,
    channel         text        NOT NULL,
    to_addr         text        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    text_body       text        NOT NULL DEFAULT '',
    html_body       text        NOT NULL DEFAULT '',
    idempotency_key text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX captured_messages_key ON captured_messages (idempotency_key) WHERE idempotency_key <> '';

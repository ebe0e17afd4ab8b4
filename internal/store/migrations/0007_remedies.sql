-- Remedies: the catalog substitutes come from, reservations held for
-- offers, issued codes, the approval audit trail, and outbound webhooks
-- kept by the capture outbox in dev.
ALTER TABLE offers ADD COLUMN details jsonb;
ALTER TABLE offers ADD COLUMN approved_at timestamptz;
CREATE INDEX offers_approved ON offers (currency, approved_at) WHERE approved_at IS NOT NULL;

CREATE TABLE products (
    sku         text        PRIMARY KEY,
    name        text        NOT NULL DEFAULT '',
    category    text        NOT NULL DEFAULT '',
    attributes  jsonb       NOT NULL DEFAULT '{}',
    price_minor bigint      NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency    char(3)     NOT NULL DEFAULT 'EUR',
    stock       bigint      NOT NULL DEFAULT 0,
    reserved    bigint      NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category ON products (category, currency);

CREATE TABLE reservations (
    incident_id text        NOT NULL,
    sku         text        NOT NULL REFERENCES products (sku),
    quantity    bigint      NOT NULL CHECK (quantity > 0),
    status      text        NOT NULL, -- held, released, consumed
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, sku)
);

CREATE TABLE issued_codes (
    code        text        PRIMARY KEY,
    incident_id text        NOT NULL,
    remedy      text        NOT NULL,
    value_minor bigint      NOT NULL CHECK (value_minor >= 0),
    currency    char(3)     NOT NULL,
    expires_at  timestamptz,
    status      text        NOT NULL, -- active, void, redeemed
    redeemed_at timestamptz,
    redeemed_order_id text  NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (incident_id, remedy)
);

CREATE TABLE audit (
    id          bigserial   PRIMARY KEY,
    incident_id text        NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    at          timestamptz NOT NULL,
    before      jsonb,
    after       jsonb,
    note        text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_incident ON audit (incident_id, id);

CREATE TABLE captured_webhooks (
    id         text        PRIMARY KEY,
    type       text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

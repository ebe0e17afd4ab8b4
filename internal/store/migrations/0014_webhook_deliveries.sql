-- Signed deliveries (webhook-id) already stored, kept for longer than the
-- signature's tolerance, so that one sent again is answered without
-- effect.
CREATE TABLE webhook_deliveries (
    id      text        PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_seen ON webhook_deliveries (seen_at);

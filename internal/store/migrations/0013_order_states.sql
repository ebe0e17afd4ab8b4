-- The order's projection: what its workflow knew (shipments, scans,
-- incidents, deadlines fired; nothing personal), saved when the workflow
-- completes, so that a later event for the order starts a new run that
-- still knows the order. Kept when raw events are purged and when a
-- customer is erased.
CREATE TABLE order_states (
    order_id    text        PRIMARY KEY,
    state       bytea       NOT NULL, -- JSON; bytea, since its keys hold \x00
    finished_at timestamptz NOT NULL DEFAULT now()
);

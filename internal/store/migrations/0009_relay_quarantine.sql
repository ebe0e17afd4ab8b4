-- The relay leases what it claims (next_attempt_at), backs off per order
-- after a transient failure (attempts, next_attempt_at) and quarantines
-- what can never be delivered (dead_at, error_kind, relay_note), so that
-- no event sits at the head of the queue for ever.
ALTER TABLE events
    ADD COLUMN attempts        integer     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN dead_at         timestamptz,
    ADD COLUMN error_kind      text        NOT NULL DEFAULT '';
DROP INDEX events_pending;
CREATE INDEX events_pending ON events (seq) WHERE relayed_at IS NULL AND dead_at IS NULL;
CREATE INDEX events_dead ON events (seq) WHERE dead_at IS NOT NULL;

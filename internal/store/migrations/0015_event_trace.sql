-- The W3C trace context of the request that brought each event, so that
-- the relay's signal continues its trace. Empty when the request was not
-- traced.
ALTER TABLE events ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- GET /v1/incidents pages newest first with a cursor (detected_at, id).
CREATE INDEX incidents_detected ON incidents (detected_at DESC, id);

-- What a customer told us (a digit, an SMS reply, a choice on the page, a
-- provider's news of a message) while Temporal could not be reached: kept
-- here and delivered to the incident's workflow when it can be. Twilio
-- does not retry a webhook it got an answer to.
CREATE TABLE workflow_mailbox (
    id              bigserial   PRIMARY KEY,
    workflow_id     text        NOT NULL,
    kind            text        NOT NULL, -- signal or update
    name            text        NOT NULL,
    request_id      text        NOT NULL UNIQUE,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    outcome         text        NOT NULL DEFAULT ''
);
CREATE INDEX workflow_mailbox_due ON workflow_mailbox (id) WHERE delivered_at IS NULL;

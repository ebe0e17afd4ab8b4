-- The ops console's local accounts: a name, an Argon2id hash (PHC string
-- format), a role (viewer, approver, admin) and, for approvers, limits per
-- currency in whole units (the same form as the API's approver keys).
-- Disabled accounts are kept for the audit trail that names them.
CREATE TABLE console_users (
    name          text        PRIMARY KEY,
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('viewer', 'approver', 'admin')),
    limits        jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- Every login attempt, kept for the audit and to slow down guessing: the
-- name tried (even one no account has), when, from where, and whether it
-- succeeded.
CREATE TABLE console_logins (
    id     bigserial   PRIMARY KEY,
    name   text        NOT NULL,
    remote text        NOT NULL DEFAULT '',
    ok     boolean     NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_logins_name_at ON console_logins (name, at);

-- The console's server-side sessions (alexedwards/scs): the cookie holds
-- only the token.
CREATE TABLE console_sessions (
    token  text        PRIMARY KEY,
    data   bytea       NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expiry);

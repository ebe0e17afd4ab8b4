-- Console accounts from an OIDC provider, and an email address for every
-- account (where the console sends approvers what waits for them).
--   source:  'local' (a password set with `recovery users add`) or 'oidc'
--            (made at sign-in; its role and limits come from the
--            provider's groups at each sign-in, its password hash is empty
--            and never matches).
--   subject: an OIDC account's issuer and subject, so that another person
--            who later gets the same name or address is not let in as it.
ALTER TABLE console_users
    ADD COLUMN email   text NOT NULL DEFAULT '',
    ADD COLUMN source  text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'oidc')),
    ADD COLUMN subject text;
CREATE UNIQUE INDEX console_users_subject ON console_users (subject) WHERE subject IS NOT NULL;

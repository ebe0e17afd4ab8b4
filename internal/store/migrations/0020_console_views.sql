-- Views of the console's queue a person saved for themselves: a name and
-- the queue's query (tab, kind, currency).
CREATE TABLE console_views (
    user_name  text        NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
    name       text        NOT NULL,
    query      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_name, name)
);

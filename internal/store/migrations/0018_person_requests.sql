-- A customer's request for a person (a contact step whose detail is "asked
-- for a person") is handled by someone in the console, with a note. The
-- note may speak of the customer: erasure blanks it with the rest.
ALTER TABLE contacts
    ADD COLUMN handled_at   timestamptz,
    ADD COLUMN handled_by   text NOT NULL DEFAULT '',
    ADD COLUMN handled_note text NOT NULL DEFAULT '';

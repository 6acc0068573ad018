-- The directory of people per Administration (seed 001's two roles): who
-- calls and who is mailed. organization is an id of the configuration's
-- organizations list; phones are E.164 numbers as caller ids arrive. A
-- contact is never deleted (tickets refer to it): it is disabled.
CREATE TABLE contacts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization text        NOT NULL,
    name         text        NOT NULL CHECK (name <> ''),
    role         text        NOT NULL CHECK (role IN ('referent', 'user')),
    email        text        NOT NULL DEFAULT '',
    phones       text[]      NOT NULL DEFAULT '{}',
    language     text        NOT NULL DEFAULT '',
    disabled     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- One person per address: a mail or a portal login finds at most one.
CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email)) WHERE email <> '';
CREATE INDEX contacts_organization_idx ON contacts (organization, name);
-- A call finds its caller's contact by number (phones @> ARRAY[caller]).
CREATE INDEX contacts_phones_idx ON contacts USING gin (phones);

-- The person a ticket is for. Partial: phone tickets of unknown callers,
-- most of them, cost the call controller nothing here.
ALTER TABLE tickets ADD COLUMN contact_id bigint REFERENCES contacts (id);
CREATE INDEX tickets_contact_idx ON tickets (contact_id, created_at, id) WHERE contact_id IS NOT NULL;

-- The files of received e-mails, kept in PostgreSQL with the tickets they
-- belong to (backed up with them, shared by every ivrd); a ticket's
-- attachment names one as mail:attachment:<id>.
CREATE TABLE mail_attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    bigint      NOT NULL,
    name         text        NOT NULL,
    content_type text        NOT NULL,
    sha256       bytea       NOT NULL,
    content      bytea       NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX mail_attachments_ticket_idx ON mail_attachments (ticket_id);

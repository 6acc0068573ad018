-- The e-mail conversation of each ticket: the replies mailed to its
-- contact (Notifier) and the mails received for it (package mailin), in
-- order, so that an answer goes to the ticket's contact and threads under
-- the last mail, and a mail delivered twice is taken once. message_id is
-- unique: a Message-ID seen again is the same mail.
CREATE TABLE ticket_mail (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL,
    message_id text        NOT NULL,
    inbound    boolean     NOT NULL,
    address    text        NOT NULL, -- the sender (inbound) or the first recipient
    language   text        NOT NULL DEFAULT '', -- the sender's, when the mail said it
    -- contact: the sender (inbound) is the ticket's contact from then on,
    -- whom answers go to: the author of the mail that opened the ticket,
    -- or someone of the ticket's Administration. Anyone may write with a
    -- ticket's number; a stranger's mail is kept on the ticket, but the
    -- answers do not follow it.
    contact    boolean     NOT NULL DEFAULT false,
    at         timestamptz NOT NULL,
    CONSTRAINT ticket_mail_message_id_key UNIQUE (message_id)
);
CREATE INDEX ticket_mail_ticket_idx ON ticket_mail (ticket_id, id);

-- Tickets linked as related (either way), and tickets merged into another.

CREATE TABLE ticket_links (
    ticket_a   bigint      NOT NULL REFERENCES tickets (id),
    ticket_b   bigint      NOT NULL REFERENCES tickets (id),
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL DEFAULT '',
    PRIMARY KEY (ticket_a, ticket_b),
    CHECK (ticket_a < ticket_b)
);
CREATE INDEX ticket_links_b_idx ON ticket_links (ticket_b);

-- A merged ticket is closed and points to the one that carries on: its
-- calls, messages and attachments moved there; its own history stays.
ALTER TABLE tickets ADD COLUMN merged_into bigint REFERENCES tickets (id);


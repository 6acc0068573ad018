-- The post-call satisfaction survey (seed 003, "valutazione del servizio"):
-- one row per call whose caller was asked, rated or not. A rating is 1-5;
-- a survey not answered has no rating and says why (skipped). The comment
-- is a recording in Asterisk (ari:recording:NAME), also attached to the
-- ticket. Group and operator are those of the conversation rated.
CREATE TABLE call_surveys (
    call_id     bigint      PRIMARY KEY REFERENCES calls (id),
    ticket_id   bigint      REFERENCES tickets (id),
    asked_at    timestamptz NOT NULL,
    rated_at    timestamptz,
    rating      smallint    CHECK (rating BETWEEN 1 AND 5),
    skipped     text        NOT NULL DEFAULT '' CHECK (skipped IN ('', 'hangup', 'timeout', 'invalid')),
    comment_uri text        NOT NULL DEFAULT '',
    comment_ms  bigint      NOT NULL DEFAULT 0 CHECK (comment_ms >= 0),
    group_id    text        NOT NULL,
    operator    text        NOT NULL DEFAULT '',
    CHECK ((rating IS NULL) = (skipped <> '')),
    CHECK ((rating IS NULL) = (rated_at IS NULL))
);
CREATE INDEX call_surveys_ticket_idx ON call_surveys (ticket_id);
-- The CSAT reports select by the time the caller was asked.
CREATE INDEX call_surveys_asked_idx ON call_surveys (asked_at) INCLUDE (group_id, operator, rating);

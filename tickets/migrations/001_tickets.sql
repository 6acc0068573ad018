-- Tickets, their articles, attachments and history; call records and their
-- timelines. Nothing is deleted by the application: foreign keys restrict.

-- Damm check digit of a string of ASCII digits: the same quasigroup as
-- number.go, row by row, as a bytea so that the lookup is get_byte (a typed
-- array constant would be rebuilt at every call).
CREATE FUNCTION ticket_damm(digits text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    t CONSTANT bytea := '\x00030107050908060402'
                        '07000902010504080603'
                        '04020006080701030509'
                        '01070500090803040206'
                        '06010203000405090708'
                        '03060704020009050801'
                        '05080609070200010304'
                        '08090405030602000107'
                        '09040308060107020005'
                        '02050801040306070900'::bytea;
    b CONSTANT bytea := convert_to(digits, 'UTF8');
    i integer := 0;
BEGIN
    FOR k IN 0..length(b) - 1 LOOP
        i := get_byte(t, i * 10 + get_byte(b, k) - 48);
    END LOOP;
    RETURN i;
END
$$;

-- The ticket number of the n-th ticket of day d: YYYYMMDD, n zero-padded to
-- at least four digits, check digit.
CREATE FUNCTION ticket_number(d date, n bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    s CONSTANT text := to_char(d, 'YYYYMMDD') || CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END;
BEGIN
    RETURN s || ticket_damm(s);
END
$$;

-- The next counter of day d. Each day has its own sequence, created by the
-- first ticket of the day: nextval is atomic across every connection of
-- every ivrd instance and, unlike a counter row, holds no lock until commit,
-- so concurrent calls never queue behind each other's commits. A rolled back
-- ticket leaves a gap, which is harmless.
CREATE FUNCTION ticket_counter_next(d date) RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT AS $$
DECLARE
    name text := 'ticket_counter_' || to_char(d, 'YYYYMMDD');
    seq regclass := to_regclass(name);
BEGIN
    IF seq IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I AS bigint', name);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            -- Another instance created it at the same moment and committed.
            NULL;
        END;
        seq := to_regclass(name);
    END IF;
    RETURN nextval(seq);
END
$$;

-- The words a ticket is found by. Declared STABLE although it is immutable:
-- with IMMUTABLE the planner folds it over the parameters of a custom plan,
-- which then looks cheaper than the generic plan, so OpenCall would be
-- planned again at every call (a third of its cost). plpgsql rather than
-- SQL, since a SQL function that is not inlined is parsed at every call.
CREATE FUNCTION ticket_search_vector(subject text, category text, description text) RETURNS tsvector
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, concat_ws(' ', subject, category, description));
END
$$;

CREATE TABLE tickets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number        text        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('phone', 'after_hours', 'panel')),
    caller        text        NOT NULL DEFAULT '',
    organization  text        NOT NULL DEFAULT '',
    caller_role   text        NOT NULL DEFAULT 'unknown' CHECK (caller_role IN ('referent', 'user', 'unknown')),
    menu_path     jsonb       NOT NULL DEFAULT '[]',
    group_id      text        NOT NULL DEFAULT '',
    category      text        NOT NULL DEFAULT '',
    subject       text        NOT NULL DEFAULT '',
    description   text        NOT NULL DEFAULT '',
    priority      text        NOT NULL DEFAULT 'medium' CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    status        text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'waiting', 'closed')),
    assignee      text        NOT NULL DEFAULT '',
    due_at        timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    closed_at     timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    -- Words of subject, category, description and every article (staff
    -- search), and the same without internal notes (caller-side search).
    search        tsvector    NOT NULL,
    search_public tsvector    NOT NULL,
    CONSTRAINT tickets_number_key UNIQUE (number),
    CONSTRAINT tickets_closed_at_check CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- The panel's lists are newest first, by (created_at, id), optionally within
-- groups, an organization or a caller. Every index costs the call
-- controller's OpenCall about 15 us of server CPU, so there are only those
-- the panel needs: an assignee's working list goes through tickets_open_idx.
CREATE INDEX tickets_created_idx      ON tickets (created_at, id);
CREATE INDEX tickets_group_idx        ON tickets (group_id, created_at, id);
CREATE INDEX tickets_caller_idx       ON tickets (caller, created_at, id);
CREATE INDEX tickets_organization_idx ON tickets (organization, created_at, id);
-- The working lists (everything not closed) stay small however many closed
-- tickets pile up; the store spells "status <> 'closed'" out in queries that
-- exclude closed tickets so that the planner can use this index.
CREATE INDEX tickets_open_idx         ON tickets (created_at, id) WHERE status <> 'closed';
CREATE INDEX tickets_search_idx       ON tickets USING gin (search);

CREATE TABLE ticket_articles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL REFERENCES tickets (id),
    internal   boolean     NOT NULL,
    author     text        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ticket_articles_ticket_idx ON ticket_articles (ticket_id, created_at, id);

CREATE TABLE ticket_attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    bigint      NOT NULL REFERENCES tickets (id),
    name         text        NOT NULL,
    uri          text        NOT NULL,
    content_type text        NOT NULL DEFAULT '',
    size_bytes   bigint      NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    duration_ms  bigint      NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL DEFAULT ''
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, id);

CREATE TABLE ticket_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint      NOT NULL REFERENCES tickets (id),
    at         timestamptz NOT NULL,
    actor_kind text        NOT NULL CHECK (actor_kind IN ('system', 'operator', 'supervisor', 'caller')),
    actor_id   text        NOT NULL DEFAULT '',
    field      text        NOT NULL,
    old_value  text        NOT NULL DEFAULT '',
    new_value  text        NOT NULL DEFAULT ''
);
CREATE INDEX ticket_history_ticket_idx ON ticket_history (ticket_id, id);

CREATE TABLE calls (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id           text        NOT NULL,
    asterisk_node        text        NOT NULL DEFAULT '',
    caller               text        NOT NULL DEFAULT '',
    called               text        NOT NULL DEFAULT '',
    started_at           timestamptz NOT NULL,
    answered_at          timestamptz,
    queued_at            timestamptz,
    operator_answered_at timestamptz,
    ended_at             timestamptz,
    outcome              text        NOT NULL DEFAULT '',
    hangup_by            text        NOT NULL DEFAULT '' CHECK (hangup_by IN ('', 'caller', 'system', 'operator')),
    group_id             text        NOT NULL DEFAULT '',
    operator             text        NOT NULL DEFAULT '',
    ticket_id            bigint REFERENCES tickets (id),
    -- Milliseconds in the queue (until an operator answered, or until the
    -- caller gave up) and with an operator, for the reports.
    wait_ms              integer GENERATED ALWAYS AS
        ((extract(epoch FROM coalesce(operator_answered_at, ended_at) - queued_at) * 1000)::integer) STORED,
    talk_ms              integer GENERATED ALWAYS AS
        ((extract(epoch FROM ended_at - operator_answered_at) * 1000)::integer) STORED,
    -- Asterisk channel ids ("1795320990.1") are only unique within a node.
    CONSTRAINT calls_channel_key UNIQUE (channel_id, asterisk_node)
);
CREATE INDEX calls_ticket_idx ON calls (ticket_id);
-- Reports select calls by the time they were queued and read nothing else.
CREATE INDEX calls_queued_idx ON calls (queued_at)
    INCLUDE (group_id, operator_answered_at, ended_at, wait_ms, talk_ms)
    WHERE queued_at IS NOT NULL;

CREATE TABLE call_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id   bigint      NOT NULL REFERENCES calls (id),
    at        timestamptz NOT NULL,
    kind      text        NOT NULL,
    node      text        NOT NULL DEFAULT '',
    key       text        NOT NULL DEFAULT '',
    label     text        NOT NULL DEFAULT '',
    group_id  text        NOT NULL DEFAULT '',
    operator  text        NOT NULL DEFAULT '',
    detail    text        NOT NULL DEFAULT ''
);
CREATE INDEX call_events_call_idx ON call_events (call_id, at, id);

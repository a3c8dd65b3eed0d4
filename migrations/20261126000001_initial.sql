-- taskfleet initial schema. Never edit this file once applied: add a new migration.

-- Trigram indexes make case-insensitive substring search (ILIKE '%q%') on titles and
-- descriptions an index scan instead of a sequential scan of the caller's tasks.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE tasks (
    id                 uuid        PRIMARY KEY,
    -- The JWT `sub`. Every query filters on it: isolation lives in the queries, and this
    -- column is never taken from a request body.
    user_id            text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    -- The API trims and bounds titles; the database refuses anything that slipped past.
    title              text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description        text        NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status             text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed')),
    priority           text        NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
    -- Sorting by priority means sorting by meaning (high > medium > low), not alphabetically;
    -- a generated column keeps the rank consistent with `priority` and indexable.
    priority_rank      smallint    GENERATED ALWAYS AS (
                           CASE priority WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END
                       ) STORED,
    tags               text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    due_date           timestamptz,
    reminder_at        timestamptz,
    recurring_rule     text,
    recurring_mode     text        NOT NULL DEFAULT 'schedule' CHECK (recurring_mode IN ('schedule', 'completion')),
    recurring_end_date timestamptz,
    timezone           text        NOT NULL DEFAULT 'UTC',
    -- The first occurrence of a recurring series (NULL for the first one itself). Not a foreign
    -- key: deleting an old occurrence must not delete or orphan-block the series.
    parent_task_id     uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    -- Optimistic concurrency (ETag / If-Match) and ordering of pushes in clients: bumped on
    -- every change, never reused.
    version            bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- A completed task has a completion time and a pending one has none.
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);

-- The list endpoint always filters by owner; each sort key gets an (owner, key, id) index so
-- keyset pagination reads only the page it returns.
CREATE INDEX tasks_user_created_idx  ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated_idx  ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due_idx      ON tasks (user_id, due_date, id);
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, priority_rank, id);
CREATE INDEX tasks_tags_idx          ON tasks USING gin (tags);
CREATE INDEX tasks_title_trgm_idx    ON tasks USING gin (title gin_trgm_ops);
CREATE INDEX tasks_description_trgm_idx ON tasks USING gin (description gin_trgm_ops);
-- Reminder scheduling scans pending reminders by time.
CREATE INDEX tasks_reminder_idx ON tasks (reminder_at) WHERE reminder_at IS NOT NULL AND status = 'pending';
-- Transactional outbox: a task change and its event commit together, and the relay publishes
-- committed rows through the Dapr sidecar. Rows are kept (published_at set) for inspection and
-- pruned by age.
CREATE TABLE outbox (
    id            bigserial   PRIMARY KEY,
    -- The CloudEvent id; stable across publish retries so consumers can deduplicate.
    event_id      uuid        NOT NULL UNIQUE,
    pubsub        text        NOT NULL,
    topic         text        NOT NULL,
    -- Kafka record key (the user id) so a user's events stay in order on one partition.
    partition_key text        NOT NULL,
    -- The complete CloudEvent, built at write time so a retry publishes identical bytes.
    envelope      jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text
);
-- The relay only ever looks for unpublished rows, oldest first.
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Exactly-once effects: a consumer inserts (consumer, event id) in the same transaction as its
-- effect; the primary key turns a duplicate or concurrent redelivery into a no-op.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- POST idempotency: the first request with a key stores its response; a retry with the same
-- key replays it. Scoped by user so one user's key can never reveal another's response.
CREATE TABLE idempotency_keys (
    user_id         text        NOT NULL,
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of method, path and body: the same key with a different request is a client
    -- bug and is refused instead of silently replaying an unrelated response.
    request_hash    text        NOT NULL,
    response_status smallint    NOT NULL,
    response_body   jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, idempotency_key)
);

CREATE TABLE notifications (
    id          uuid        PRIMARY KEY,
    user_id     text        NOT NULL,
    task_id     uuid,
    kind        text        NOT NULL,
    title       text        NOT NULL,
    body        text        NOT NULL DEFAULT '',
    -- The reminder this notification fired for: one notification per task and reminder time,
    -- however many notification replicas race to fire it.
    reminder_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    UNIQUE (task_id, reminder_at)
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC);

-- The audit trail: one row per task event, append-only and hash-chained per user.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    -- One entry per event, whatever the number of deliveries.
    event_id    uuid        NOT NULL UNIQUE,
    user_id     text        NOT NULL,
    event_type  text        NOT NULL,
    task_id     uuid,
    actor       text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    changes     jsonb,
    snapshot    jsonb,
    -- hash = sha256(prev_hash || canonical entry); prev_hash of a user's first entry is NULL.
    prev_hash   text,
    hash        text        NOT NULL,
    -- Two entries can never claim the same predecessor: a fork in a user's chain is refused.
    UNIQUE (user_id, prev_hash)
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, id DESC);

-- Append-only is enforced by the database, not by convention: UPDATE, DELETE and TRUNCATE are
-- refused for every role that goes through these triggers.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

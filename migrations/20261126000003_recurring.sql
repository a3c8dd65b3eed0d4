-- recurring: one next occurrence per completed occurrence, as a database fact.
--
-- The recurring service consumes `task-completed` at least once (redeliveries, concurrent
-- deliveries, and a task reopened and completed again produce several events for one
-- occurrence). The processed_events record stops a repeated *event*; this table stops a repeated
-- *effect*: the link row is inserted (ON CONFLICT DO NOTHING) in the same transaction as the
-- next task and its outbox event, so whichever delivery inserts it first creates the next
-- occurrence and every other one finds the row and creates nothing.
CREATE TABLE recurrence_links (
    -- One next occurrence per completed occurrence: a reopened and re-completed task (a new
    -- event id) still maps to this key, and concurrent deliveries block on it until the first
    -- transaction ends.
    completed_task_id uuid        PRIMARY KEY,
    -- The owner; every query filters on it like every task query does.
    user_id           text        NOT NULL,
    -- The series root (the first occurrence's id, which next occurrences carry as
    -- parent_task_id). No foreign keys to tasks: users delete occurrences, and the links must
    -- outlive them, otherwise a redelivery after a deletion would create the occurrence again.
    series_id         uuid        NOT NULL,
    next_task_id      uuid        NOT NULL UNIQUE,
    -- When the next occurrence is due.
    occurs_at         timestamptz NOT NULL,
    -- The series start the occurrence was computed from, kept so the series stays anchored
    -- (Jan 31 -> Feb 28 -> Mar 31) after its first occurrence is deleted.
    series_start      timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- One next occurrence per series and occurrence (SPEC §6), whichever completed task asks
    -- for it. Its index also serves the per-series lookups (occurrence count, anchor fallback).
    UNIQUE (series_id, occurs_at)
);

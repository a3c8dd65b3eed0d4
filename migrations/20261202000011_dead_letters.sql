-- Dead letters kept, retried and accounted for (reliability issue). Each consuming service
-- subscribes to its own dead-letter topics (`<service>-<topic>-dlq`) and stores what arrives
-- here; common::dead_letters retries each row through the service's own handler with a backoff
-- until it succeeds, or parks it when the handler refuses it for good. Operators list, replay
-- or discard rows with `<service> dead-letters`.
CREATE TABLE dead_letters (
    id              bigserial   PRIMARY KEY,
    -- The service that could not take the event (audit, recurring).
    consumer        text        NOT NULL,
    -- The topic it was delivered on (not the dead-letter topic).
    topic           text        NOT NULL,
    -- The CloudEvent id, or a hash of the bytes when they are not a CloudEvent.
    message_key     text        NOT NULL,
    -- The original envelope exactly as the sidecar delivered it.
    body            bytea       NOT NULL,
    -- Why the last attempt failed.
    reason          text,
    -- Attempts made from this table.
    attempts        integer     NOT NULL DEFAULT 0,
    -- How often the event reached the dead-letter topic (a redelivered dead letter counts again).
    arrivals        integer     NOT NULL DEFAULT 1,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set when the handler refused the event for good: no more automatic attempts.
    parked_at       timestamptz,
    UNIQUE (consumer, topic, message_key)
);

-- The retrier's scan: a consumer's due, unparked rows in arrival order.
CREATE INDEX dead_letters_due_idx ON dead_letters (consumer, next_attempt_at, id)
    WHERE parked_at IS NULL;

-- assistant (issue 6): conversations with the AI assistant, per user.
--
-- Every row carries the owner's user id (the JWT `sub`) and every query filters on it, so a
-- thread, item or confirmation id alone never reaches another user's row — the same rule as
-- for tasks. Deleting a thread deletes its items and pending confirmations with it.

CREATE TABLE assistant_threads (
    id          uuid PRIMARY KEY,
    user_id     text NOT NULL,
    -- Shown in the thread list; taken from the first message, so bounded like a task title.
    title       text NOT NULL DEFAULT '' CHECK (char_length(title) <= 200),
    -- The IANA zone the user's date phrases are read in (validated by the API before insert).
    timezone    text NOT NULL DEFAULT 'UTC' CHECK (char_length(timezone) BETWEEN 1 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The thread list: a user's threads, most recently active first.
CREATE INDEX assistant_threads_user_idx ON assistant_threads (user_id, updated_at DESC, id DESC);

CREATE TABLE assistant_items (
    -- uuid v7, so id order is creation order within a thread.
    id          uuid PRIMARY KEY,
    thread_id   uuid NOT NULL REFERENCES assistant_threads (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    -- user_message: what the user wrote; assistant_message: a model turn (text, reasoning and
    -- the tool calls it made); tool_result: one tool call's result as the model saw it;
    -- error: a failed turn (provider error, timeout, round limit), shown to the user;
    -- confirmation: the user's decision on a confirmation card, so the model learns of it.
    kind        text NOT NULL
                CHECK (kind IN ('user_message', 'assistant_message', 'tool_result', 'error',
                                'confirmation')),
    content     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Reading a thread in order, and rebuilding the model's context from it.
CREATE INDEX assistant_items_thread_idx ON assistant_items (thread_id, id);
-- The per-user rate limit counts the user's recent messages across all threads.
CREATE INDEX assistant_items_rate_idx ON assistant_items (user_id, created_at)
    WHERE kind = 'user_message';

-- Destructive actions the model asked for wait here until the user decides; nothing runs on
-- the model's word alone.
CREATE TABLE assistant_confirmations (
    id           uuid PRIMARY KEY,
    user_id      text NOT NULL,
    thread_id    uuid NOT NULL REFERENCES assistant_threads (id) ON DELETE CASCADE,
    action       text NOT NULL CHECK (action IN ('delete_task')),
    task_id      uuid NOT NULL,
    -- The version the user was shown: confirming deletes exactly that state (If-Match), never
    -- a task that changed since the card was drawn.
    task_version bigint NOT NULL,
    -- A card is decided once: pending → confirmed | cancelled.
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);

CREATE INDEX assistant_confirmations_user_idx ON assistant_confirmations (user_id, created_at DESC);

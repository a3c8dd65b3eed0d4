-- assistant (issue 6, second part): confirmation cards that cover several tasks and expire,
-- cards asked for by external agents over MCP (no thread), and per-user token budgets.

-- A card names its tasks in a child table (one row for delete_task, several for the bulk
-- actions); each row keeps the version the user was shown, so confirming acts on exactly
-- that state.
CREATE TABLE assistant_confirmation_tasks (
    confirmation_id uuid NOT NULL REFERENCES assistant_confirmations (id) ON DELETE CASCADE,
    task_id         uuid NOT NULL,
    task_version    bigint NOT NULL,
    -- The order the tasks were listed in on the card.
    position        integer NOT NULL,
    PRIMARY KEY (confirmation_id, task_id)
);

INSERT INTO assistant_confirmation_tasks (confirmation_id, task_id, task_version, position)
SELECT id, task_id, task_version, 0 FROM assistant_confirmations;

ALTER TABLE assistant_confirmations DROP COLUMN task_id, DROP COLUMN task_version;

-- delete_task: one task; delete_tasks / complete_tasks: the bulk actions.
ALTER TABLE assistant_confirmations DROP CONSTRAINT assistant_confirmations_action_check;
ALTER TABLE assistant_confirmations ADD CONSTRAINT assistant_confirmations_action_check
    CHECK (action IN ('delete_task', 'delete_tasks', 'complete_tasks'));

-- A card not decided in time can no longer be confirmed: the list leaves it out, and a decision
-- on it marks it expired (decided_at is then that moment) and answers 410.
ALTER TABLE assistant_confirmations DROP CONSTRAINT assistant_confirmations_status_check;
ALTER TABLE assistant_confirmations ADD CONSTRAINT assistant_confirmations_status_check
    CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired'));
ALTER TABLE assistant_confirmations ADD COLUMN expires_at timestamptz;
UPDATE assistant_confirmations SET expires_at = created_at + interval '15 minutes';
ALTER TABLE assistant_confirmations ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE assistant_confirmations ADD CHECK (expires_at > created_at);

-- Where the card was asked for: the in-app assistant (in a thread) or an MCP agent (no
-- thread; the app lists such cards for the user to decide).
ALTER TABLE assistant_confirmations ADD COLUMN source text NOT NULL DEFAULT 'assistant'
    CHECK (source IN ('assistant', 'mcp'));
ALTER TABLE assistant_confirmations ALTER COLUMN thread_id DROP NOT NULL;
ALTER TABLE assistant_confirmations ADD CHECK ((source = 'assistant') = (thread_id IS NOT NULL));

-- The app's list of cards waiting for the user.
CREATE INDEX assistant_confirmations_pending_idx ON assistant_confirmations (user_id, created_at)
    WHERE status = 'pending';

-- Tokens a user's conversations used per UTC day (as the provider reported them, or estimated
-- from the text when it reports none); a message is refused with 429 once the day's budget is
-- spent.
CREATE TABLE assistant_usage (
    user_id text NOT NULL,
    day     date NOT NULL,
    tokens  bigint NOT NULL CHECK (tokens >= 0),
    PRIMARY KEY (user_id, day)
);

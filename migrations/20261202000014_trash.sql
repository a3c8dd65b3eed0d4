-- Deleted tasks go to a trash for 30 days (issue 15): deleting moves the row here, restoring
-- moves it back. The task is kept as its JSON snapshot (common::tasks::Task, with the version
-- the deletion event carried), so a column added to `tasks` later needs nothing here, and no
-- query of `tasks` (lists, reminders, series, the assistant) ever has to skip deleted rows.
CREATE TABLE trashed_tasks (
    id         uuid PRIMARY KEY,
    user_id    text NOT NULL,
    task       jsonb NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

-- The trash page: a user's entries, most recently deleted first.
CREATE INDEX trashed_tasks_user_idx ON trashed_tasks (user_id, deleted_at DESC, id DESC);
-- The hourly purge of entries past the 30 days.
CREATE INDEX trashed_tasks_deleted_at_idx ON trashed_tasks (deleted_at);

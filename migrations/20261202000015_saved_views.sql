-- Saved views (issue 15): a user's named task-list queries, listed in the app's sidebar. The
-- query is the `GET /api/tasks` query string (filters and sort; no cursor or page size), as
-- validated by backend-api when it was saved.
CREATE TABLE saved_views (
    id         uuid PRIMARY KEY,
    user_id    text NOT NULL,
    name       text NOT NULL,
    query      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

-- The read of `GET /api/tasks?status=pending&sort=due_date&limit=20` exactly as backend-api
-- sends it (tasks::query::list: every column, the sort key as text, one row more than the page
-- to know whether another follows), for one of the 100 read users bench/run.sh seeds.
\set u random(0, 99)
SELECT id, user_id, title, description, status, priority, tags, due_date, reminder_at, recurring_rule, recurring_mode, recurring_end_date, timezone, parent_task_id, created_at, updated_at, completed_at, version, (coalesce(due_date, 'infinity'::timestamptz))::text AS sort_key FROM tasks WHERE user_id = 'read-user-' || :u AND status = 'pending' ORDER BY coalesce(due_date, 'infinity'::timestamptz) ASC, id ASC LIMIT 21;

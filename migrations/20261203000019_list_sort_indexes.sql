-- The list endpoint sorts by due date and by title through expressions (tasks without a due
-- date last in both directions, titles without regard to case: tasks::query), and no index had
-- them: a page sorted that way read and sorted every matching task of the user, so it slowed
-- down as the user's tasks grew (docs/benchmarks.md, "issue 14, fifth pass"). Each expression
-- now gets its (owner, key, id) index, as the other sort keys have, so keyset pagination reads
-- only the page it returns. tasks_user_due_idx stays: the due-date filters (today, upcoming,
-- overdue, due_before/due_after) are ranges on the column itself.
CREATE INDEX tasks_user_due_first_idx ON tasks (user_id, (coalesce(due_date, 'infinity'::timestamptz)), id);
CREATE INDEX tasks_user_due_last_idx  ON tasks (user_id, (coalesce(due_date, '-infinity'::timestamptz)), id);
CREATE INDEX tasks_user_title_idx     ON tasks (user_id, lower(title), id);

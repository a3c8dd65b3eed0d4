-- Reminders fire once (reliability issue): which reminder fired is recorded apart from the
-- notification it produced. The notification row used to be that record, so deleting a
-- notification made its reminder fire again on the next claim (and again after every delete,
-- for as long as the reminder stayed in the catch-up window).
CREATE TABLE fired_reminders (
    task_id         uuid        NOT NULL,
    -- The reminder time that fired: setting a task's reminder to a new time fires again.
    reminder_at     timestamptz NOT NULL,
    -- The notification created for it (it may since have been deleted by its user).
    notification_id uuid        NOT NULL,
    fired_at        timestamptz NOT NULL DEFAULT now(),
    -- One firing per task and reminder time, however many replicas and cron ticks race.
    PRIMARY KEY (task_id, reminder_at)
);

-- Pruning: a record is needed only while its reminder is within the claim's catch-up window
-- (an older reminder is never claimed), so records are deleted by reminder time.
CREATE INDEX fired_reminders_reminder_at_idx ON fired_reminders (reminder_at);

INSERT INTO fired_reminders (task_id, reminder_at, notification_id, fired_at)
SELECT task_id, reminder_at, id, created_at
FROM notifications
WHERE kind = 'reminder' AND task_id IS NOT NULL AND reminder_at IS NOT NULL
ON CONFLICT DO NOTHING;

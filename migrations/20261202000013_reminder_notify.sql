-- Task writes no longer NOTIFY (performance issue): a notifying commit takes the database-wide
-- notify lock and holds it across its WAL flush, so all of them committed one after another.
-- The outbox relays are woken inside their own process (common::outbox::commit). The reminder
-- loop of the notification service, in another process, still has to hear at once of a
-- reminder that may come before its next wake-up: a pending task's new or moved reminder, or a
-- task with a reminder reopened. Only those writes notify; a reminder moved later or cancelled
-- needs no wake-up (the loop wakes at the old time and finds nothing due).
CREATE FUNCTION tasks_notify_reminder_planned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reminders', '');
    RETURN NULL;
END $$;

CREATE TRIGGER tasks_reminder_planned_on_insert AFTER INSERT ON tasks FOR EACH ROW
    WHEN (NEW.reminder_at IS NOT NULL AND NEW.status = 'pending')
    EXECUTE FUNCTION tasks_notify_reminder_planned();

CREATE TRIGGER tasks_reminder_planned_on_update AFTER UPDATE OF reminder_at, status ON tasks
    FOR EACH ROW
    WHEN (NEW.reminder_at IS NOT NULL AND NEW.status = 'pending'
          AND (NEW.reminder_at IS DISTINCT FROM OLD.reminder_at
               OR NEW.status IS DISTINCT FROM OLD.status))
    EXECUTE FUNCTION tasks_notify_reminder_planned();

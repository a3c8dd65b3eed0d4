-- notification: an index for the notifications API.
--
-- The bell asks for the unread count on every page load and `GET /api/notifications?unread=true`
-- lists unread rows newest first. Read notifications pile up over time while unread ones stay
-- few, so a partial index over the unread rows keeps both queries proportional to what is
-- unread, not to the user's whole history. (The full list uses notifications_user_idx of the
-- initial migration; the reminder claim uses tasks_reminder_idx and the UNIQUE (task_id,
-- reminder_at) constraint.)
CREATE INDEX notifications_user_unread_idx
    ON notifications (user_id, created_at DESC, id DESC)
    WHERE read_at IS NULL;

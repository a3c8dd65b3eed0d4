-- audit no longer records processed events: an `audit_log` row is its own record, by its unique
-- `event_id` (audit::journal). Its records here were never pruned (only recurring pruned its
-- own), so they grew with every event; they go.
DELETE FROM processed_events WHERE consumer = 'audit';

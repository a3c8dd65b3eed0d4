-- A published outbox row is deleted instead of marked, and relays claim a user with a session
-- advisory lock instead of a lease written into its rows (performance issue; common::outbox
-- explains the relay). Leasing and marking rewrote every row twice, each time a whole new row
-- version with new index entries: the largest share of the database's time under write load.
-- What was published lives on in the broker and in the audit trail.
DELETE FROM outbox WHERE published_at IS NOT NULL;

DROP INDEX outbox_pending_idx;
DROP INDEX outbox_parked_idx;
ALTER TABLE outbox
    DROP COLUMN published_at,
    DROP COLUMN leased_until;

-- The relay finds each user's oldest pending row: pending rows by user, oldest first.
CREATE INDEX outbox_pending_idx ON outbox (partition_key, id) WHERE parked_at IS NULL;
-- Operators list what is parked.
CREATE INDEX outbox_parked_idx ON outbox (id) WHERE parked_at IS NOT NULL;

-- Outbox without long transactions and without one user's refused event stalling them
-- (reliability issue; common::outbox explains the relay):
-- * a relay leases rows for a moment (leased_until) instead of holding row and advisory locks
--   in a transaction across its HTTP publishes;
-- * a failed row is retried on a backoff of its own (next_attempt_at), so it holds back only
--   its own user;
-- * a row the sidecar keeps refusing for good is parked (parked_at, with last_error kept) and
--   the user's later events go on; operators list, replay or discard parked rows.
ALTER TABLE outbox
    ADD COLUMN leased_until    timestamptz,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN parked_at       timestamptz;

-- The relay finds each user's oldest pending row: pending rows by user, oldest first.
DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_pending_idx ON outbox (partition_key, id)
    WHERE published_at IS NULL AND parked_at IS NULL;
-- Operators list what is parked.
CREATE INDEX outbox_parked_idx ON outbox (id) WHERE parked_at IS NOT NULL AND published_at IS NULL;

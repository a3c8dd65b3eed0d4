-- Bounded consumer state (reliability issue): processed-event records are deleted after a
-- retention far longer than any redelivery window (common::idempotency::PROCESSED_RETENTION);
-- this index keeps that periodic delete from scanning the whole table.
CREATE INDEX processed_events_processed_at_idx ON processed_events (consumer, processed_at);

-- Account deletion (issue 15): `DELETE /api/account` erases a user's rows in backend-api's
-- tables and publishes `user-deleted`, on which every other service erases its own.

-- The users whose accounts are gone. A task is never inserted for one of them
-- (common::tasks::insert_task checks it in the same statement): not by a request with a token
-- issued before the deletion, not by recurring completing a late event. User ids are never
-- reused (Better Auth makes random ones).
CREATE TABLE erased_users (
    user_id   text PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- audit_log stays append-only, with one exception: the transaction that erases a user, which
-- names that user in the transaction-local setting taskfleet.audit_erasure, may delete that
-- user's entries (and only theirs); audit then starts the user's chain again with a tombstone
-- entry that keeps the count and the last hash, not the content.
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (Nested: OLD is unassigned in the statement-level TRUNCATE trigger.)
    IF TG_OP = 'DELETE' THEN
        IF OLD.user_id = current_setting('taskfleet.audit_erasure', true) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

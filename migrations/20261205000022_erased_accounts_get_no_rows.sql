-- A request that passed its token check just before its account was erased could still write a
-- saved view, an agent token, a calendar feed or an assistant conversation, which outlived the
-- account until the hourly sweep. The database now refuses such a row (SQLSTATE TF410, a 410
-- `account_deleted` in the API, common::error): the check runs as the row is inserted, with a
-- snapshot of that moment (a volatile function's statement sees what committed before it), so
-- only an insert whose check ran before the erasure committed and whose own commit came after
-- the erasure's delete of that table is left to the sweep. Task inserts check `erased_users` in
-- their own statement (and the erasure waits for them), so `tasks` has no such trigger.
CREATE FUNCTION refuse_erased_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM erased_users WHERE user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'the account % was deleted', NEW.user_id USING ERRCODE = 'TF410';
    END IF;
    RETURN NEW;
END $$;

DO $$
DECLARE
    written_by_requests text;
BEGIN
    FOREACH written_by_requests IN ARRAY ARRAY['saved_views', 'agent_tokens', 'calendar_feeds',
            'assistant_threads', 'assistant_confirmations', 'assistant_usage'] LOOP
        EXECUTE format('CREATE TRIGGER refuse_erased_account BEFORE INSERT ON %I FOR EACH ROW '
            'EXECUTE FUNCTION refuse_erased_account()', written_by_requests);
    END LOOP;
END $$;

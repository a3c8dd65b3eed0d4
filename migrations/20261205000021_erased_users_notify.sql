-- Every service that authenticates users keeps the set of deleted accounts in memory
-- (common::erased), so a token issued before a deletion is refused from the moment the erasure
-- commits instead of when the token expires. The erasure's insert notifies the services with
-- the user id; they load the whole table at start and again after losing their listener.
-- An erasure is rare: the database-wide notify lock it takes at commit costs nothing elsewhere.
CREATE FUNCTION erased_users_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('erased_users', NEW.user_id);
    RETURN NULL;
END $$;

CREATE TRIGGER erased_users_notify_on_insert AFTER INSERT ON erased_users FOR EACH ROW
    EXECUTE FUNCTION erased_users_notify();

-- Reminders when the app is closed (issue 15): the browsers that receive Web Push messages.
-- notification stores one row per browser (its push service endpoint and encryption keys) and
-- posts each fired reminder to them; a push service answering 404/410 ends the row.
CREATE TABLE push_subscriptions (
    id         uuid        PRIMARY KEY,
    user_id    text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    -- The push service URL of one browser: a capability, unique to that browser. Registering it
    -- again (another account signed in there) moves it.
    endpoint   text        NOT NULL UNIQUE CHECK (length(endpoint) BETWEEN 1 AND 2048),
    -- The browser's P-256 public key (uncompressed point) and 16-byte auth secret, base64url.
    p256dh     text        NOT NULL CHECK (length(p256dh) BETWEEN 1 AND 100),
    auth       text        NOT NULL CHECK (length(auth) BETWEEN 1 AND 50),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id, created_at DESC, id DESC);

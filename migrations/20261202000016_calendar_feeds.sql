-- Calendar feeds (issue 15): the registry behind each user's secret iCalendar URL. The URL's
-- credential is a JWT (token_use "calendar") whose `jti` is a row here; `/calendar.ics` serves
-- it only while the row is not revoked. A user has at most one active feed: rotating the
-- secret revokes the active row and adds a new one, so every copy of the old URL stops working.
CREATE TABLE calendar_feeds (
    id           uuid PRIMARY KEY,
    user_id      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX calendar_feeds_one_active_idx ON calendar_feeds (user_id)
    WHERE revoked_at IS NULL;

// Where calendar apps reach backend-api's feed, as they see it: the audience of feed tokens.
// Must equal backend-api's CALENDAR_URL.
//
// A feed is registered with backend-api (`POST /api/calendar-feed`, one active per user) before
// its token is signed (app/api/calendar-feed): the row's id is the token's `jti`, and
// `/calendar.ics` serves a token only while its row is active. The token is signed from the
// row alone (iat = the row's creation, exp ten years later), and Ed25519 signatures are
// deterministic, so the user sees the same URL every time until they rotate it.

export function calendarUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.CALENDAR_URL || "http://localhost:8000/calendar.ics";
}

/** How long a feed token is valid; the feed row, not this, decides when it stops working. */
export const FEED_TOKEN_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

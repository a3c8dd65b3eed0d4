//! The calendar feed: `/calendar.ics?token=` (a JWT for the feed whose `jti` is the user's
//! active row) and its registry `/api/calendar-feed`. The output is read back with the
//! `icalendar` crate's parser.

use common::auth::{CALENDAR_TOKEN_USE, Claims, mint_hs256_claims};
use icalendar::parser::{Component, read_calendar, unfold};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{SECRET, TestApp, error_code, spawn_app, token};

/// The feed URL of the test app's default settings (the tokens' audience).
const FEED_URL: &str = "http://localhost:8000/calendar.ics";

fn feed_token(user: &str, jti: Option<&str>, audience: &str, token_use: Option<&str>) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        jti: jti.map(str::to_owned),
        sub: user.to_owned(),
        exp: now + 3600,
        iat: Some(now),
        nbf: None,
        aud: Some(json!(audience)),
        token_use: token_use.map(str::to_owned),
    };
    mint_hs256_claims(SECRET, &claims).unwrap()
}

/// Turns `user`'s feed on (or rotates it) as the UI does and returns its token.
async fn turn_on(app: &TestApp, user: &str) -> String {
    let response = app
        .request(Method::POST, "/api/calendar-feed", user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let row: Value = response.json().await.unwrap();
    let id = row["id"].as_str().unwrap();
    feed_token(user, Some(id), FEED_URL, Some(CALENDAR_TOKEN_USE))
}

async fn fetch(app: &TestApp, query: &str) -> reqwest::Response {
    reqwest::get(app.url(&format!("/calendar.ics?{query}")))
        .await
        .unwrap()
}

/// The feed's text, checked as RFC 5545 lines (CRLF, at most 75 octets, folded).
async fn feed_text(app: &TestApp, query: &str) -> String {
    let response = fetch(app, query).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    for line in text.split("\r\n") {
        assert!(!line.contains('\n'), "a bare LF in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    text
}

fn prop<'a>(component: &'a Component<'a>, name: &str) -> Option<String> {
    component
        .properties
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.val.as_str().to_owned())
}

fn with_params(component: &Component<'_>, name: &str) -> Option<String> {
    component
        .properties
        .iter()
        .find(|p| p.name == name)
        .map(|p| {
            let params: Vec<String> = p
                .params
                .iter()
                .map(|param| {
                    format!(
                        "{}={}",
                        param.key,
                        param.val.as_ref().map_or("", |v| v.as_str())
                    )
                })
                .collect();
            format!("{};{}", params.join(";"), p.val.as_str())
        })
}

fn by_summary<'a>(
    components: &'a [Component<'a>],
    kind: &str,
    summary: &str,
) -> Option<&'a Component<'a>> {
    components
        .iter()
        .filter(|c| c.name == kind)
        .find(|c| prop(c, "SUMMARY").as_deref() == Some(summary))
}

#[tokio::test]
async fn the_feed_shows_the_users_due_tasks_as_events_with_rules_zones_and_alarms() {
    let app = spawn_app().await;
    app.create_ok(
        "alice",
        json!({"title": "Pay rent, gas; water", "description": "line one\nline two",
               "due_date": "2030-03-01T09:00:00Z", "reminder_at": "2030-03-01T08:45:00Z",
               "priority": "high", "tags": ["home", "money"]}),
    )
    .await;
    app.create_ok(
        "alice",
        json!({"title": "Standup", "due_date": "2030-01-07T08:30:00Z",
               "recurring_rule": "weekdays", "timezone": "Europe/Berlin",
               "recurring_end_date": "2030-12-31T00:00:00Z"}),
    )
    .await;
    app.create_ok("alice", json!({"title": "Someday"})).await;
    let done = app
        .create_ok(
            "alice",
            json!({"title": "Done already", "due_date": "2030-02-01T09:00:00Z"}),
        )
        .await;
    app.complete_ok("alice", &done).await;
    app.create_ok(
        "bob",
        json!({"title": "Bob's secret", "due_date": "2030-03-01T09:00:00Z"}),
    )
    .await;

    let feed = turn_on(&app, "alice").await;
    let text = feed_text(&app, &format!("token={feed}")).await;
    let unfolded = unfold(&text);
    let calendar = read_calendar(&unfolded).expect("the feed parses as iCalendar");
    assert_eq!(
        calendar
            .properties
            .iter()
            .find(|p| p.name == "VERSION")
            .map(|p| p.val.as_str()),
        Some("2.0")
    );
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(events.len(), 2, "only alice's open, due tasks: {text}");
    assert!(!text.contains("Bob") && !text.contains("Someday") && !text.contains("Done already"));

    // Escaped on the wire (RFC 5545 §3.3.11), read back as written.
    assert!(
        text.contains("SUMMARY:Pay rent\\, gas\\; water\r\n"),
        "{text}"
    );
    let rent = by_summary(&calendar.components, "VEVENT", "Pay rent, gas; water").expect("rent");
    assert_eq!(prop(rent, "DTSTART").as_deref(), Some("20300301T090000Z"));
    assert_eq!(
        prop(rent, "DESCRIPTION").as_deref(),
        Some("line one\nline two")
    );
    assert_eq!(prop(rent, "CATEGORIES").as_deref(), Some("home,money"));
    assert_eq!(prop(rent, "PRIORITY").as_deref(), Some("1"));
    assert!(prop(rent, "UID").unwrap().ends_with("@taskfleet"));
    assert_eq!(prop(rent, "RRULE"), None);
    let alarm = rent
        .components
        .iter()
        .find(|c| c.name == "VALARM")
        .expect("the reminder");
    assert_eq!(prop(alarm, "TRIGGER").as_deref(), Some("-PT15M"));
    assert_eq!(prop(alarm, "ACTION").as_deref(), Some("DISPLAY"));
    assert_eq!(
        prop(alarm, "DTSTAMP"),
        None,
        "RFC 5545 has no DTSTAMP in VALARM"
    );

    // A recurring task: wall-clock start in its zone, the preset spelled out, the series' end.
    let standup = by_summary(&calendar.components, "VEVENT", "Standup").unwrap();
    assert_eq!(
        with_params(standup, "DTSTART").as_deref(),
        Some("TZID=Europe/Berlin;20300107T093000")
    );
    assert_eq!(
        prop(standup, "RRULE").as_deref(),
        Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20301231T000000Z")
    );
    let zone = calendar
        .components
        .iter()
        .find(|c| c.name == "VTIMEZONE")
        .expect("the zone the rule uses is defined");
    assert_eq!(prop(zone, "TZID").as_deref(), Some("Europe/Berlin"));
    let daylight = zone
        .components
        .iter()
        .filter(|c| c.name == "DAYLIGHT")
        .find(|c| prop(c, "DTSTART").as_deref() == Some("20300331T020000"))
        .expect("the 2030 spring change");
    assert_eq!(prop(daylight, "TZOFFSETFROM").as_deref(), Some("+0100"));
    assert_eq!(prop(daylight, "TZOFFSETTO").as_deref(), Some("+0200"));
}

#[tokio::test]
async fn the_todo_feed_has_open_and_recently_completed_tasks() {
    let app = spawn_app().await;
    app.create_ok(
        "alice",
        json!({"title": "Someday", "reminder_at": "2030-01-01T10:00:00Z"}),
    )
    .await;
    let done = app
        .create_ok("alice", json!({"title": "Done already"}))
        .await;
    app.complete_ok("alice", &done).await;
    let feed = turn_on(&app, "alice").await;
    let text = feed_text(&app, &format!("token={feed}&kind=todos")).await;
    let unfolded = unfold(&text);
    let calendar = read_calendar(&unfolded).unwrap().components;
    let someday = by_summary(&calendar, "VTODO", "Someday").unwrap();
    assert_eq!(prop(someday, "STATUS").as_deref(), Some("NEEDS-ACTION"));
    assert_eq!(prop(someday, "DUE"), None);
    let alarm = someday
        .components
        .iter()
        .find(|c| c.name == "VALARM")
        .unwrap();
    assert_eq!(
        with_params(alarm, "TRIGGER").as_deref(),
        Some("VALUE=DATE-TIME;20300101T100000Z")
    );
    let done = by_summary(&calendar, "VTODO", "Done already").unwrap();
    assert_eq!(prop(done, "STATUS").as_deref(), Some("COMPLETED"));
    assert_eq!(prop(done, "PERCENT-COMPLETE").as_deref(), Some("100"));
    assert!(prop(done, "COMPLETED").is_some());

    let unknown = fetch(&app, &format!("token={feed}&kind=journal")).await;
    assert_eq!(unknown.status(), 422);
}

#[tokio::test]
async fn only_the_active_feed_token_opens_the_feed_and_it_opens_nothing_else() {
    let app = spawn_app().await;
    app.create_ok(
        "alice",
        json!({"title": "Mine", "due_date": "2030-03-01T09:00:00Z"}),
    )
    .await;
    let (status, _) = app.get_json("alice", "/api/calendar-feed").await;
    assert_eq!(status, 404, "the feed is off until turned on");

    let first = turn_on(&app, "alice").await;
    assert_eq!(fetch(&app, &format!("token={first}")).await.status(), 200);
    let (status, row) = app.get_json("alice", "/api/calendar-feed").await;
    assert_eq!(status, 200);
    assert!(
        row["last_used_at"].is_string(),
        "the fetch is recorded: {row}"
    );

    // Refused: no token, the user's API token, a feed token for another URL or of no feed,
    // a feed token naming another user's feed.
    let bob_feed = turn_on(&app, "bob").await;
    let bob_jti = app.get_json("bob", "/api/calendar-feed").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice_jti = row["id"].as_str().unwrap();
    for query in [
        String::new(),
        format!("token={}", token("alice")),
        format!(
            "token={}",
            feed_token(
                "alice",
                Some(alice_jti),
                "https://elsewhere.example/calendar.ics",
                Some(CALENDAR_TOKEN_USE)
            )
        ),
        format!(
            "token={}",
            feed_token("alice", Some(alice_jti), FEED_URL, None)
        ),
        format!(
            "token={}",
            feed_token(
                "alice",
                Some(&Uuid::new_v4().to_string()),
                FEED_URL,
                Some(CALENDAR_TOKEN_USE)
            )
        ),
        format!(
            "token={}",
            feed_token("alice", None, FEED_URL, Some(CALENDAR_TOKEN_USE))
        ),
        format!(
            "token={}",
            feed_token("alice", Some(&bob_jti), FEED_URL, Some(CALENDAR_TOKEN_USE))
        ),
        "token=not-a-jwt".to_owned(),
        format!("token={first}&user_id=bob"),
    ] {
        let response = fetch(&app, &query).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status == 401 || status == 400, "{query}: {status}");
        assert!(!error_code(&body).is_empty(), "{query}: {body}");
    }
    // Bob's own feed shows only Bob's (no) tasks.
    let bob_text = feed_text(&app, &format!("token={bob_feed}")).await;
    assert!(!bob_text.contains("Mine"));

    // The feed token is no API token.
    let api = app
        .client
        .get(app.url("/api/tasks"))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);

    // Rotating makes a new URL and ends the old one.
    let second = turn_on(&app, "alice").await;
    assert_eq!(fetch(&app, &format!("token={first}")).await.status(), 401);
    assert_eq!(fetch(&app, &format!("token={second}")).await.status(), 200);
    // Turning it off ends every URL.
    let off = app
        .request(Method::DELETE, "/api/calendar-feed", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 204);
    assert_eq!(fetch(&app, &format!("token={second}")).await.status(), 401);
    assert_eq!(app.get_json("alice", "/api/calendar-feed").await.0, 404);
}

#[tokio::test]
async fn concurrent_rotations_leave_exactly_one_active_feed() {
    let app = spawn_app().await;
    let rotations = (0..8).map(|_| {
        app.request(Method::POST, "/api/calendar-feed", "alice")
            .send()
    });
    for response in futures::future::join_all(rotations).await {
        assert_eq!(response.unwrap().status(), 201);
    }
    let (active,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM calendar_feeds WHERE user_id = 'alice' AND revoked_at IS NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn an_unchanged_feed_answers_not_modified_and_a_change_shows() {
    let app = spawn_app().await;
    let task = app
        .create_ok(
            "alice",
            json!({"title": "Before", "due_date": "2030-03-01T09:00:00Z"}),
        )
        .await;
    let feed = turn_on(&app, "alice").await;
    let first = fetch(&app, &format!("token={feed}")).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "private, no-cache");
    let again = app
        .client
        .get(app.url(&format!("/calendar.ics?token={feed}")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let renamed = app
        .request(
            Method::PATCH,
            &format!("/api/tasks/{}", task["id"].as_str().unwrap()),
            "alice",
        )
        .json(&json!({"title": "After"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let changed = app
        .client
        .get(app.url(&format!("/calendar.ics?token={feed}")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(changed.text().await.unwrap().contains("SUMMARY:After"));
}

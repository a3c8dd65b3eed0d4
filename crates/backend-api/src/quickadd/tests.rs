use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::tasks::{Priority, RecurringMode};

use super::{QuickAdd, Span, SpanKind, parse, parse_repeat, parse_when};

const BERLIN: Tz = chrono_tz::Europe::Berlin;

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().expect("a valid test timestamp")
}

/// Thursday 2026-11-26, 11:00 in Berlin (UTC+1).
fn thursday() -> DateTime<Utc> {
    at("2026-11-26T10:00:00Z")
}

fn due(text: &str, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let parsed = parse(text, tz, now);
    assert_eq!(parsed.title, "", "{text:?} left words over");
    parsed.due_date
}

#[test]
fn the_assistant_example_yields_title_time_tag_and_priority() {
    let parsed = parse("buy milk tomorrow at 5pm #home p1", BERLIN, thursday());
    assert_eq!(
        parsed,
        QuickAdd {
            title: "buy milk".to_owned(),
            due_date: Some(at("2026-11-27T16:00:00Z")),
            priority: Some(Priority::High),
            tags: vec!["home".to_owned()],
            recurring_rule: None,
            recurring_mode: None,
            spans: vec![
                Span {
                    kind: SpanKind::Due,
                    start: 9,
                    end: 24
                },
                Span {
                    kind: SpanKind::Tag,
                    start: 25,
                    end: 30
                },
                Span {
                    kind: SpanKind::Priority,
                    start: 31,
                    end: 33
                },
            ],
        }
    );
}

#[test]
fn relative_days_and_times_are_read_in_the_users_zone() {
    let now = thursday();
    let cases = [
        ("tomorrow 5pm", "2026-11-27T16:00:00Z"),
        ("today 9:30", "2026-11-26T08:30:00Z"),
        ("next monday", "2026-11-30T08:00:00Z"),
        ("in 3 days", "2026-11-29T08:00:00Z"),
        ("in 2 hours", "2026-11-26T12:00:00Z"),
        ("in 30 minutes", "2026-11-26T10:30:00Z"),
        ("in a week", "2026-12-03T08:00:00Z"),
        ("on friday", "2026-11-27T08:00:00Z"),
        ("on thursday", "2026-12-03T08:00:00Z"),
        ("friday", "2026-11-27T08:00:00Z"),
        ("thursday 5pm", "2026-12-03T16:00:00Z"),
        ("by friday at 17:30", "2026-11-27T16:30:00Z"),
        ("dec 24", "2026-12-24T08:00:00Z"),
        ("24th december 6pm", "2026-12-24T17:00:00Z"),
        ("dec 24 2027", "2027-12-24T08:00:00Z"),
        ("2026-12-24 18:00", "2026-12-24T17:00:00Z"),
        ("next week", "2026-11-30T08:00:00Z"),
        ("tomorrow noon", "2026-11-27T11:00:00Z"),
        ("tomorrow 5:30 pm", "2026-11-27T16:30:00Z"),
        ("at 17 tomorrow", "2026-11-27T16:00:00Z"),
    ];
    for (text, expected) in cases {
        assert_eq!(due(text, now, BERLIN), Some(at(expected)), "{text}");
    }
}

#[test]
fn next_monday_on_a_monday_is_a_week_later_and_on_monday_too() {
    let monday = at("2026-11-30T10:00:00Z");
    assert_eq!(
        due("next monday", monday, BERLIN),
        Some(at("2026-12-07T08:00:00Z"))
    );
    assert_eq!(
        due("on monday", monday, BERLIN),
        Some(at("2026-12-07T08:00:00Z"))
    );
    assert_eq!(
        due("next friday", monday, BERLIN),
        Some(at("2026-12-11T08:00:00Z"))
    );
}

#[test]
fn a_time_alone_is_today_while_ahead_and_tomorrow_once_past() {
    assert_eq!(
        due("5pm", thursday(), BERLIN),
        Some(at("2026-11-26T16:00:00Z"))
    );
    assert_eq!(
        due("9am", thursday(), BERLIN),
        Some(at("2026-11-27T08:00:00Z"))
    );
}

#[test]
fn a_passed_day_of_the_year_means_next_year() {
    let christmas = at("2026-12-25T10:00:00Z");
    assert_eq!(
        due("dec 24", christmas, BERLIN),
        Some(at("2027-12-24T08:00:00Z"))
    );
}

#[test]
fn recurrences_become_presets_or_rrules_starting_at_the_next_matching_day() {
    let now = thursday();
    let cases = [
        ("every day", "daily", "2026-11-27T08:00:00Z"),
        ("every weekday", "weekdays", "2026-11-27T08:00:00Z"),
        ("every week", "weekly", "2026-11-27T08:00:00Z"),
        ("every month", "monthly", "2026-11-27T08:00:00Z"),
        ("every year", "yearly", "2026-11-27T08:00:00Z"),
        (
            "every monday",
            "FREQ=WEEKLY;BYDAY=MO",
            "2026-11-30T08:00:00Z",
        ),
        (
            "every 3 days",
            "FREQ=DAILY;INTERVAL=3",
            "2026-11-27T08:00:00Z",
        ),
        (
            "every other week",
            "FREQ=WEEKLY;INTERVAL=2",
            "2026-11-27T08:00:00Z",
        ),
        ("every day at 6pm", "daily", "2026-11-26T17:00:00Z"),
        (
            "every friday tomorrow",
            "FREQ=WEEKLY;BYDAY=FR",
            "2026-11-27T08:00:00Z",
        ),
    ];
    for (text, rule, first) in cases {
        let parsed = parse(text, BERLIN, now);
        assert_eq!(parsed.title, "", "{text}");
        assert_eq!(parsed.recurring_rule.as_deref(), Some(rule), "{text}");
        assert_eq!(
            parsed.recurring_mode,
            Some(RecurringMode::Schedule),
            "{text}"
        );
        assert_eq!(parsed.due_date, Some(at(first)), "{text}");
        common::recurrence::validate(rule).expect("the parser only emits valid rules");
    }
    // Saturday: the first weekday occurrence is Monday.
    let saturday = at("2026-11-28T10:00:00Z");
    assert_eq!(
        parse("every weekday", BERLIN, saturday).due_date,
        Some(at("2026-11-30T08:00:00Z"))
    );
}

#[test]
fn every_bang_counts_from_completion() {
    let parsed = parse("water plants every! 2 weeks p3", BERLIN, thursday());
    assert_eq!(parsed.title, "water plants");
    assert_eq!(
        parsed.recurring_rule.as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=2")
    );
    assert_eq!(parsed.recurring_mode, Some(RecurringMode::Completion));
    assert_eq!(parsed.priority, Some(Priority::Low));
}

#[test]
fn priorities_tags_and_ordinary_words_are_told_apart() {
    // A day's name is a date wherever it stands (the box highlights it); quoted, it is a word.
    let parsed = parse(
        r#""Friday" drinks: buy 5 apples #Shop #party p2 ok"#,
        BERLIN,
        thursday(),
    );
    assert_eq!(parsed.title, "Friday drinks: buy 5 apples ok");
    assert_eq!(parsed.priority, Some(Priority::Medium));
    assert_eq!(parsed.tags, vec!["shop".to_owned(), "party".to_owned()]);
    assert_eq!(parsed.due_date, None);
    let unquoted = parse("Friday drinks", BERLIN, thursday());
    assert_eq!(unquoted.title, "drinks");
    assert_eq!(unquoted.due_date, Some(at("2026-11-27T08:00:00Z")));
    let second = parse("fix p1 bug p3", BERLIN, thursday());
    assert_eq!(
        (second.title.as_str(), second.priority),
        ("fix bug p3", Some(Priority::High))
    );
}

#[test]
fn a_time_skipped_by_the_spring_dst_change_moves_forward_by_the_gap() {
    // Berlin skips 02:00–03:00 on 2027-03-28.
    let now = at("2027-03-27T12:00:00Z");
    assert_eq!(
        due("tomorrow 2:30am", now, BERLIN),
        Some(at("2027-03-28T01:30:00Z"))
    );
    assert_eq!(
        due("tomorrow 5pm", now, BERLIN),
        Some(at("2027-03-28T15:00:00Z"))
    );
    // A day later is a calendar day (23 hours here), not 24 hours.
    assert_eq!(
        due("in 1 day at 13:00", now, BERLIN),
        Some(at("2027-03-28T11:00:00Z"))
    );
}

#[test]
fn a_time_repeated_by_the_autumn_dst_change_takes_the_first() {
    // Berlin repeats 02:00–03:00 on 2026-10-25.
    let now = at("2026-10-24T12:00:00Z");
    assert_eq!(
        due("tomorrow 2:30am", now, BERLIN),
        Some(at("2026-10-25T00:30:00Z"))
    );
    let night = at("2026-10-25T00:30:00Z");
    assert_eq!(
        due("in 2 hours", night, BERLIN),
        Some(at("2026-10-25T02:30:00Z"))
    );
}

#[test]
fn months_are_added_by_calendar_and_clamped_to_the_month_end() {
    let utc = Tz::UTC;
    let january_31 = at("2027-01-31T06:00:00Z");
    assert_eq!(
        due("in 1 month", january_31, utc),
        Some(at("2027-02-28T09:00:00Z"))
    );
    assert_eq!(
        due("in 3 months", january_31, utc),
        Some(at("2027-04-30T09:00:00Z"))
    );
    let leap = at("2028-01-31T06:00:00Z");
    assert_eq!(
        due("in 1 month", leap, utc),
        Some(at("2028-02-29T09:00:00Z"))
    );
    let new_years_eve = at("2026-12-31T22:00:00Z");
    assert_eq!(
        due("tomorrow", new_years_eve, utc),
        Some(at("2027-01-01T09:00:00Z"))
    );
}

#[test]
fn the_users_zone_decides_which_day_today_is() {
    // 23:30 UTC on Nov 26 is already Nov 27 in Tokyo and still Nov 26 in New York.
    let late = at("2026-11-26T23:30:00Z");
    assert_eq!(
        due("tomorrow 9:00", late, chrono_tz::Asia::Tokyo),
        Some(at("2026-11-28T00:00:00Z"))
    );
    assert_eq!(
        due("tomorrow 9:00", late, chrono_tz::America::New_York),
        Some(at("2026-11-27T14:00:00Z"))
    );
}

#[test]
fn parse_when_accepts_only_a_date_phrase_or_a_timestamp() {
    assert_eq!(
        parse_when("tomorrow at 5pm", BERLIN, thursday()),
        Ok(at("2026-11-27T16:00:00Z"))
    );
    assert_eq!(
        parse_when("2026-12-01T09:00:00+01:00", BERLIN, thursday()),
        Ok(at("2026-12-01T08:00:00Z"))
    );
    assert!(parse_when("tomorrow banana", BERLIN, thursday()).is_err());
    assert!(parse_when("soon", BERLIN, thursday()).is_err());
    assert!(parse_when("every day", BERLIN, thursday()).is_err());
}

#[test]
fn parse_repeat_reads_with_or_without_every() {
    let (rule, mode, first) = parse_repeat("weekday", BERLIN, thursday()).expect("a recurrence");
    assert_eq!(
        (rule.as_str(), mode, first),
        (
            "weekdays",
            RecurringMode::Schedule,
            at("2026-11-27T08:00:00Z")
        )
    );
    assert!(parse_repeat("whenever", BERLIN, thursday()).is_err());
}

/// The spans of `text` as (kind, covered text) pairs.
fn spans_of(text: &str) -> Vec<(SpanKind, &str)> {
    parse(text, BERLIN, thursday())
        .spans
        .iter()
        .map(|span| (span.kind, &text[span.start..span.end]))
        .collect()
}

#[test]
fn every_recognised_phrase_is_reported_where_it_stands() {
    assert_eq!(
        spans_of("Pay rent tomorrow 9am #home !high"),
        [
            (SpanKind::Due, "tomorrow 9am"),
            (SpanKind::Tag, "#home"),
            (SpanKind::Priority, "!high"),
        ]
    );
    assert_eq!(
        spans_of("Water the plants every monday"),
        [(SpanKind::Repeat, "every monday")]
    );
    // A trailing comma is not part of the phrase; a comma between date and time splits them.
    assert_eq!(
        spans_of("Send the report friday, 5pm"),
        [(SpanKind::Due, "friday"), (SpanKind::Due, "5pm")]
    );
    // Offsets are bytes of the text as given, whatever its letters.
    assert_eq!(
        spans_of("Café  über   morgen   tomorrow #straße"),
        [(SpanKind::Due, "tomorrow"), (SpanKind::Tag, "#straße")]
    );
    // Words left in the title are not spans: a second date stays text.
    assert_eq!(spans_of("tomorrow or today"), [(SpanKind::Due, "tomorrow")]);
    assert!(spans_of("buy milk").is_empty());
    // Short day names alone are words ("sat down", "sun cream"); after a preposition, days.
    assert!(spans_of("sat down with the sun cream").is_empty());
    assert_eq!(spans_of("call on sat"), [(SpanKind::Due, "on sat")]);
}

#[test]
fn the_examples_of_the_quick_add_box_become_dated_titled_tasks() {
    let now = thursday();
    let rent = parse("Pay rent tomorrow 9am #home !high", BERLIN, now);
    assert_eq!(rent.title, "Pay rent");
    assert_eq!(rent.due_date, Some(at("2026-11-27T08:00:00Z")));
    assert_eq!(rent.tags, ["home"]);
    assert_eq!(rent.priority, Some(Priority::High));
    let plants = parse("Water the plants every monday", BERLIN, now);
    assert_eq!(plants.title, "Water the plants");
    assert_eq!(
        plants.recurring_rule.as_deref(),
        Some("FREQ=WEEKLY;BYDAY=MO")
    );
    assert_eq!(plants.due_date, Some(at("2026-11-30T08:00:00Z")));
    let report = parse("Send the report friday 5pm", BERLIN, now);
    assert_eq!(report.title, "Send the report");
    assert_eq!(report.due_date, Some(at("2026-11-27T16:00:00Z")));
    for (text, priority) in [
        ("a !medium", Priority::Medium),
        ("a !M", Priority::Medium),
        ("a !l", Priority::Low),
        ("a p1", Priority::High),
    ] {
        assert_eq!(parse(text, BERLIN, now).priority, Some(priority), "{text}");
    }
}

#[test]
fn quoted_text_stays_in_the_title_unread_and_without_its_quotes() {
    let now = thursday();
    let show = parse(r#"Watch "Friday Night Lights" tomorrow"#, BERLIN, now);
    assert_eq!(show.title, "Watch Friday Night Lights");
    assert_eq!(show.due_date, Some(at("2026-11-27T08:00:00Z")));
    assert_eq!(
        spans_of(r#"Watch "Friday Night Lights" tomorrow"#),
        [(SpanKind::Due, "tomorrow")]
    );
    // Kept literal, a date, a tag and a priority are title words.
    let kept = parse(r##"Send the report "friday 5pm" "#x" "p1""##, BERLIN, now);
    assert_eq!(kept.title, "Send the report friday 5pm #x p1");
    assert_eq!((kept.due_date, kept.priority), (None, None));
    assert!(kept.tags.is_empty() && kept.spans.is_empty());
    // A phrase does not reach into a quoted part: "in" alone is a word.
    let split = parse(r#"meet in "3 days" time"#, BERLIN, now);
    assert_eq!(split.title, "meet in 3 days time");
    assert_eq!(split.due_date, None);
    // Quotes inside a word split it; a lone quote is an ordinary character; empty quotes vanish.
    assert_eq!(parse(r#"say"hi"now"#, BERLIN, now).title, "say hi now");
    let lone = parse(r#"5" screen tomorrow"#, BERLIN, now);
    assert_eq!(lone.title, r#"5" screen"#);
    assert_eq!(lone.due_date, Some(at("2026-11-27T08:00:00Z")));
    assert_eq!(parse(r#"a "" b"#, BERLIN, now).title, "a b");
}

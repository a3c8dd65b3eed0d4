#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use common::tasks::RecurringMode;

use super::{Completed, ScheduleError, Series, next_occurrence};

fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().unwrap()
}

fn series(rule: &'static str, timezone: Tz, start: &str) -> Series {
    Series {
        rule: rule.to_owned(),
        mode: RecurringMode::Schedule,
        timezone,
        start: at(start),
        end_date: None,
        occurrences_so_far: 1,
    }
}

/// The next occurrence after the one due at `due`, completed right when it was due.
fn next(series: &Series, due: &str) -> Option<DateTime<Utc>> {
    let due = at(due);
    next_occurrence(
        series,
        &Completed {
            due,
            completed_at: due,
        },
    )
    .unwrap()
}

/// The series start and the `n - 1` occurrences that completing each one in turn produces.
fn chain(mut series: Series, n: usize) -> Vec<DateTime<Utc>> {
    let mut occurrences = vec![series.start];
    while occurrences.len() < n {
        let due = *occurrences.last().unwrap();
        let completed = Completed {
            due,
            completed_at: due,
        };
        match next_occurrence(&series, &completed).unwrap() {
            Some(next) => occurrences.push(next),
            None => break,
        }
        series.occurrences_so_far += 1;
    }
    occurrences
}

fn all(rfc3339: &[&str]) -> Vec<DateTime<Utc>> {
    rfc3339.iter().map(|s| at(s)).collect()
}

#[test]
fn a_daily_task_recurs_the_next_day_at_the_same_time() {
    let daily = series("daily", Tz::UTC, "2026-03-02T09:00:00Z");
    assert_eq!(
        next(&daily, "2026-03-02T09:00:00Z"),
        Some(at("2026-03-03T09:00:00Z"))
    );
}

#[test]
fn a_weekdays_task_completed_on_friday_recurs_on_monday() {
    let weekdays = series("weekdays", Tz::UTC, "2026-03-02T09:00:00Z");
    assert_eq!(
        next(&weekdays, "2026-03-06T09:00:00Z"),
        Some(at("2026-03-09T09:00:00Z"))
    );
    assert_eq!(
        next(&weekdays, "2026-03-04T09:00:00Z"),
        Some(at("2026-03-05T09:00:00Z"))
    );
}

#[test]
fn a_weekly_task_recurs_seven_days_later() {
    let weekly = series("weekly", Tz::UTC, "2026-03-04T18:30:00Z");
    assert_eq!(
        next(&weekly, "2026-03-04T18:30:00Z"),
        Some(at("2026-03-11T18:30:00Z"))
    );
}

#[test]
fn a_monthly_series_started_on_january_31_clamps_to_month_ends_without_drifting() {
    let monthly = series("monthly", Tz::UTC, "2026-01-31T10:00:00Z");
    assert_eq!(
        chain(monthly, 5),
        all(&[
            "2026-01-31T10:00:00Z",
            "2026-02-28T10:00:00Z",
            "2026-03-31T10:00:00Z",
            "2026-04-30T10:00:00Z",
            "2026-05-31T10:00:00Z",
        ])
    );
}

#[test]
fn a_monthly_series_reaches_february_29_in_a_leap_year() {
    let monthly = series("monthly", Tz::UTC, "2028-01-31T10:00:00Z");
    assert_eq!(
        chain(monthly, 3),
        all(&[
            "2028-01-31T10:00:00Z",
            "2028-02-29T10:00:00Z",
            "2028-03-31T10:00:00Z",
        ])
    );
    let thirtieth = series("FREQ=MONTHLY", Tz::UTC, "2026-01-30T10:00:00Z");
    assert_eq!(
        chain(thirtieth, 3),
        all(&[
            "2026-01-30T10:00:00Z",
            "2026-02-28T10:00:00Z",
            "2026-03-30T10:00:00Z",
        ])
    );
}

#[test]
fn the_month_end_clamp_uses_the_local_day_of_the_task_time_zone() {
    // 23:30 on Jan 31 in New York is already Feb 1 in UTC.
    let monthly = series("monthly", Tz::America__New_York, "2026-02-01T04:30:00Z");
    assert_eq!(
        chain(monthly, 3),
        all(&[
            "2026-02-01T04:30:00Z",
            "2026-03-01T04:30:00Z", // Feb 28, 23:30 EST
            "2026-04-01T03:30:00Z", // Mar 31, 23:30 EDT
        ])
    );
}

#[test]
fn a_yearly_series_from_february_29_falls_on_february_28_in_common_years() {
    let yearly = series("yearly", Tz::UTC, "2028-02-29T08:00:00Z");
    assert_eq!(
        chain(yearly, 5),
        all(&[
            "2028-02-29T08:00:00Z",
            "2029-02-28T08:00:00Z",
            "2030-02-28T08:00:00Z",
            "2031-02-28T08:00:00Z",
            "2032-02-29T08:00:00Z",
        ])
    );
}

#[test]
fn an_rrule_every_other_week_on_monday_and_friday_follows_its_days() {
    let rule = series(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
        Tz::UTC,
        "2026-03-02T07:00:00Z",
    );
    assert_eq!(
        chain(rule, 5),
        all(&[
            "2026-03-02T07:00:00Z",
            "2026-03-06T07:00:00Z",
            "2026-03-16T07:00:00Z",
            "2026-03-20T07:00:00Z",
            "2026-03-30T07:00:00Z",
        ])
    );
}

#[test]
fn an_rrule_on_the_last_day_of_the_month_follows_month_ends() {
    let rule = series(
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        Tz::UTC,
        "2026-01-31T12:00:00Z",
    );
    assert_eq!(
        chain(rule, 4),
        all(&[
            "2026-01-31T12:00:00Z",
            "2026-02-28T12:00:00Z",
            "2026-03-31T12:00:00Z",
            "2026-04-30T12:00:00Z",
        ])
    );
}

#[test]
fn a_series_with_count_stops_after_count_occurrences() {
    let rule = series("FREQ=DAILY;COUNT=3", Tz::UTC, "2026-03-02T09:00:00Z");
    assert_eq!(chain(rule.clone(), 10).len(), 3);
    // The rule's own COUNT also ends the series when the occurrence count is not known.
    assert_eq!(next(&rule, "2026-03-04T09:00:00Z"), None);
    assert_eq!(
        next(&rule, "2026-03-03T09:00:00Z"),
        Some(at("2026-03-04T09:00:00Z"))
    );
}

#[test]
fn a_series_past_its_until_creates_nothing() {
    let rule = series(
        "FREQ=DAILY;UNTIL=20260305T000000Z",
        Tz::UTC,
        "2026-03-02T09:00:00Z",
    );
    assert_eq!(
        next(&rule, "2026-03-03T09:00:00Z"),
        Some(at("2026-03-04T09:00:00Z"))
    );
    assert_eq!(next(&rule, "2026-03-04T09:00:00Z"), None);
}

#[test]
fn a_series_past_its_end_date_creates_nothing() {
    let mut daily = series("daily", Tz::UTC, "2026-03-02T09:00:00Z");
    daily.end_date = Some(at("2026-03-04T12:00:00Z"));
    assert_eq!(
        next(&daily, "2026-03-03T09:00:00Z"),
        Some(at("2026-03-04T09:00:00Z"))
    );
    assert_eq!(next(&daily, "2026-03-04T09:00:00Z"), None);
}

fn assert_local_hours(occurrences: &[DateTime<Utc>], tz: Tz, hour: u32) {
    for occurrence in occurrences {
        assert_eq!(occurrence.with_timezone(&tz).hour(), hour, "{occurrence}");
    }
}

#[test]
fn a_daily_berlin_task_stays_at_nine_local_across_both_dst_changes() {
    let berlin = Tz::Europe__Berlin;
    let spring = chain(series("daily", berlin, "2026-03-27T08:00:00Z"), 4);
    assert_eq!(
        spring,
        all(&[
            "2026-03-27T08:00:00Z",
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z",
        ])
    );
    let autumn = chain(series("daily", berlin, "2026-10-23T07:00:00Z"), 4);
    assert_eq!(
        autumn,
        all(&[
            "2026-10-23T07:00:00Z",
            "2026-10-24T07:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-26T08:00:00Z",
        ])
    );
    assert_local_hours(&spring, berlin, 9);
    assert_local_hours(&autumn, berlin, 9);
}

#[test]
fn a_daily_new_york_task_stays_at_nine_local_across_both_dst_changes() {
    let new_york = Tz::America__New_York;
    let spring = chain(series("daily", new_york, "2026-03-06T14:00:00Z"), 4);
    assert_eq!(
        spring,
        all(&[
            "2026-03-06T14:00:00Z",
            "2026-03-07T14:00:00Z",
            "2026-03-08T13:00:00Z",
            "2026-03-09T13:00:00Z",
        ])
    );
    let autumn = chain(series("daily", new_york, "2026-10-30T13:00:00Z"), 4);
    assert_eq!(
        autumn,
        all(&[
            "2026-10-30T13:00:00Z",
            "2026-10-31T13:00:00Z",
            "2026-11-01T14:00:00Z",
            "2026-11-02T14:00:00Z",
        ])
    );
    assert_local_hours(&spring, new_york, 9);
    assert_local_hours(&autumn, new_york, 9);
}

fn completed(series: &Series, due: &str, completed_at: &str) -> Option<DateTime<Utc>> {
    next_occurrence(
        series,
        &Completed {
            due: at(due),
            completed_at: at(completed_at),
        },
    )
    .unwrap()
}

#[test]
fn completion_mode_counts_from_the_completion_day_at_the_series_time_of_day() {
    let mut daily = series("daily", Tz::UTC, "2026-03-02T09:00:00Z");
    // Schedule mode ignores when it was done: the next one follows the due date.
    assert_eq!(
        completed(&daily, "2026-03-02T09:00:00Z", "2026-03-05T15:30:00Z"),
        Some(at("2026-03-03T09:00:00Z"))
    );
    daily.mode = RecurringMode::Completion;
    assert_eq!(
        completed(&daily, "2026-03-02T09:00:00Z", "2026-03-05T15:30:00Z"),
        Some(at("2026-03-06T09:00:00Z"))
    );
    let mut weekly = series("weekly", Tz::UTC, "2026-03-02T09:00:00Z");
    weekly.mode = RecurringMode::Completion;
    assert_eq!(
        completed(&weekly, "2026-03-02T09:00:00Z", "2026-03-04T08:00:00Z"),
        Some(at("2026-03-11T09:00:00Z"))
    );
}

#[test]
fn completion_mode_keeps_the_local_time_of_day_in_the_task_time_zone() {
    let mut daily = series("daily", Tz::Europe__Berlin, "2026-03-02T08:00:00Z");
    daily.mode = RecurringMode::Completion;
    // Completed at 22:00 CEST on Mar 30: next is Mar 31, 09:00 CEST.
    assert_eq!(
        completed(&daily, "2026-03-27T08:00:00Z", "2026-03-30T20:00:00Z"),
        Some(at("2026-03-31T07:00:00Z"))
    );
}

#[test]
fn completion_mode_never_yields_an_occurrence_before_the_completed_one() {
    let mut daily = series("daily", Tz::UTC, "2026-03-02T09:00:00Z");
    daily.mode = RecurringMode::Completion;
    assert_eq!(
        completed(&daily, "2026-03-10T09:00:00Z", "2026-03-05T10:00:00Z"),
        Some(at("2026-03-11T09:00:00Z"))
    );
}

#[test]
fn completion_mode_stops_when_the_series_has_had_count_occurrences() {
    let mut rule = series("FREQ=DAILY;COUNT=2", Tz::UTC, "2026-03-02T09:00:00Z");
    rule.mode = RecurringMode::Completion;
    assert!(completed(&rule, "2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z").is_some());
    rule.occurrences_so_far = 2;
    assert_eq!(
        completed(&rule, "2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"),
        None
    );
}

#[test]
fn an_unparseable_rule_is_an_error_not_a_panic() {
    let broken = series("FREQ=SOMETIMES", Tz::UTC, "2026-03-02T09:00:00Z");
    let result = next_occurrence(
        &broken,
        &Completed {
            due: broken.start,
            completed_at: broken.start,
        },
    );
    assert!(matches!(result, Err(ScheduleError::InvalidRule(_))));
}

//! When the next occurrence of a series is due (docs/contract.md §4 `recurring_rule`,
//! `recurring_mode`).
//!
//! Pure computation, no I/O: the rule (a preset or an RRULE body, as stored) is expanded with
//! the `rrule` crate in the task's IANA time zone, so a daily 09:00 task stays at 09:00 local
//! time across DST changes while its UTC offset moves.
//!
//! * `schedule` mode: the rule starts at the series start (the first occurrence's due date) and
//!   the next occurrence is the first one after the completed occurrence's due date. Because the
//!   rule always starts at the series start, a month-end series never drifts.
//! * `completion` mode (Todoist's `every!`): the rule starts on the day the task was completed,
//!   at the series start's local time of day, and the next occurrence is the first one after
//!   that start — and after the completed occurrence's due date, so completing early never
//!   yields an occurrence that is not later than the one just done.
//!
//! **Month-end design.** RFC 5545 (and the `rrule` crate) skip months that lack the start day:
//! plain `FREQ=MONTHLY` from Jan 31 yields Jan 31, Mar 31, May 31. docs/contract.md §4 wants Jan
//! 31 → Feb 28 → Mar 31. For `FREQ=MONTHLY` without any BYxxx day selector and a start day after
//! the 28th, the rule is rewritten to `BYMONTHDAY=<day>,-1;BYSETPOS=1`: each month's set holds the
//! start day (when the month has it) and the month's last day, and the first of them is taken —
//! the start day, or the last day of a shorter month. `FREQ=YEARLY` from Feb 29 is rewritten
//! likewise (`BYMONTH=2;BYMONTHDAY=29,-1;BYSETPOS=1`: Feb 28 in common years). The rewrite stays
//! inside RRULE semantics, so COUNT, UNTIL and INTERVAL keep working unchanged; rules that name
//! their days (`BYMONTHDAY=31`, `BYDAY=…`) are the user's explicit choice and are not touched.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use common::recurrence::{preset_rrule, rrule_set};
use common::tasks::RecurringMode;
use rrule::{Frequency, RRule, Unvalidated};

/// Occurrences walked at most to find the next one: 270 years of a daily series. Rules repeat
/// daily at most (sub-daily ones are refused by `common::recurrence`), so this bounds the work
/// a series with an absurdly old start can cause; callers run the walk off the async workers.
pub const MAX_STEPS: usize = 100_000;

/// A recurring series as the computation needs it.
#[derive(Debug, Clone)]
pub struct Series {
    /// The stored rule: a preset name or an RRULE body (normalised, see
    /// `common::recurrence::normalize`).
    pub rule: String,
    /// How the next occurrence is counted.
    pub mode: RecurringMode,
    /// The time zone occurrences are computed in.
    pub timezone: Tz,
    /// The series start: the first occurrence's due date (its creation time if it had none).
    pub start: DateTime<Utc>,
    /// The series ends after this time.
    pub end_date: Option<DateTime<Utc>>,
    /// Occurrences the series has had so far, the completed one included (for `COUNT`).
    pub occurrences_so_far: u32,
}

/// [`next_occurrence`] on the blocking thread pool: walking a rule is CPU work (up to
/// [`MAX_STEPS`] steps) that must not stall the async workers every other request shares.
pub async fn next_occurrence_off_runtime(
    series: Series,
    completed: Completed,
) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    tokio::task::spawn_blocking(move || next_occurrence(&series, &completed))
        .await
        .map_err(|error| ScheduleError::InvalidRule(format!("the computation failed: {error}")))?
}

/// The occurrence that was completed.
#[derive(Debug, Clone, Copy)]
pub struct Completed {
    /// Its due date (its creation time if it had none).
    pub due: DateTime<Utc>,
    /// When it was completed.
    pub completed_at: DateTime<Utc>,
}

/// A rule that cannot be expanded; it would fail the same way on every delivery.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Not a preset and not an RRULE the `rrule` crate accepts.
    #[error("invalid recurrence rule: {0}")]
    InvalidRule(String),
    /// More than [`MAX_STEPS`] occurrences lie between the series start and the next one.
    #[error("more than {MAX_STEPS} occurrences before the next one")]
    TooManyOccurrences,
}

/// The due date of the occurrence after `completed`, or `None` when the series is over
/// (`COUNT` reached, past `UNTIL` or past the series' end date).
pub fn next_occurrence(
    series: &Series,
    completed: &Completed,
) -> Result<Option<DateTime<Utc>>, ScheduleError> {
    let body = preset_rrule(&series.rule).unwrap_or(&series.rule);
    let parsed: RRule<Unvalidated> = body
        .parse()
        .map_err(|e: rrule::RRuleError| ScheduleError::InvalidRule(e.to_string()))?;
    if parsed
        .get_count()
        .is_some_and(|count| series.occurrences_so_far >= count)
    {
        return Ok(None);
    }
    let start = match series.mode {
        RecurringMode::Schedule => series.start,
        RecurringMode::Completion => completion_anchor(series, completed.completed_at),
    };
    // An UNTIL before the rule's start leaves no occurrence at all (the crate refuses such a
    // rule instead of returning an empty set).
    if parsed
        .get_until()
        .is_some_and(|until| until.with_timezone(&Utc) < start)
    {
        return Ok(None);
    }
    let local_start = start.with_timezone(&series.timezone);
    let body = clamp_month_end(body, parsed.get_freq(), local_start.date_naive());
    let set = rrule_set(&body, start, series.timezone).map_err(ScheduleError::InvalidRule)?;
    let after = match series.mode {
        RecurringMode::Schedule => completed.due,
        RecurringMode::Completion => start.max(completed.due),
    };
    let mut next = None;
    for (step, occurrence) in (&set).into_iter().enumerate() {
        if step >= MAX_STEPS {
            return Err(ScheduleError::TooManyOccurrences);
        }
        let occurrence = occurrence.with_timezone(&Utc);
        if occurrence > after {
            next = Some(occurrence);
            break;
        }
    }
    Ok(next.filter(|next| series.end_date.is_none_or(|end| *next <= end)))
}

/// Completion mode's start: the local day of completion at the series start's local time.
fn completion_anchor(series: &Series, completed_at: DateTime<Utc>) -> DateTime<Utc> {
    let tz = series.timezone;
    let day = completed_at.with_timezone(&tz).date_naive();
    let time = series.start.with_timezone(&tz).time();
    local_to_utc(tz, day, time)
}

/// `day` at `time` in `tz`. An ambiguous time (autumn) takes its first instance; a time that
/// does not exist (spring gap) is counted from midnight, as the `rrule` crate does.
fn local_to_utc(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    if let Some(at) = tz.from_local_datetime(&day.and_time(time)).earliest() {
        return at.with_timezone(&Utc);
    }
    let since_midnight = time.signed_duration_since(NaiveTime::MIN);
    let midnight = tz
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|m| m.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc());
    midnight + since_midnight
}

/// The month-end clamp described in the module docs.
fn clamp_month_end(body: &str, freq: Frequency, start: NaiveDate) -> String {
    let names_its_days = body.split(';').any(|part| {
        ["BYMONTH", "BYDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"]
            .iter()
            .any(|selector| part.starts_with(selector))
    });
    if names_its_days {
        return body.to_owned();
    }
    match freq {
        Frequency::Monthly if start.day() > 28 => {
            format!("{body};BYMONTHDAY={},-1;BYSETPOS=1", start.day())
        }
        Frequency::Yearly if start.month() == 2 && start.day() == 29 => {
            format!("{body};BYMONTH=2;BYMONTHDAY=29,-1;BYSETPOS=1")
        }
        _ => body.to_owned(),
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;

//! The deterministic quick-add and date parser shared by `POST /api/tasks/parse` (the UI's
//! quick-add box) and the assistant's tools, so neither the browser nor a language model ever
//! computes a date or a time-zone offset.
//!
//! Everything is evaluated in the user's IANA time zone at an injected "now":
//! - dates: `today`, `tomorrow`, `next week`, `next monday` (the Monday of next week),
//!   `on friday` / `this friday` / `by friday` (the next Friday after today), `in 3 days`,
//!   `in 2 weeks`, `in 1 month` (clamped to the month's end), `dec 24`, `24 december`,
//!   `dec 24 2027`, `2026-12-24`;
//! - times: `5pm`, `5:30 pm`, `17:00`, `9:30`, `noon`, `at 5pm`, `at 17`; `in 2 hours` and
//!   `in 30 minutes` are exact instants. A date without a time is due at [`DEFAULT_TIME`]; a
//!   time without a date is today's if still ahead, else tomorrow's;
//! - recurrence: `every day|weekday|week|month|year`, `every monday`, `every 2 weeks`,
//!   `every other week`; `every!` counts the next occurrence from completion (Todoist's
//!   `every!`). Without a date the first occurrence is the first matching day still ahead;
//! - `p1`/`p2`/`p3` → high/medium/low, `#tag` → tags.
//!
//! Whatever is not recognised stays in the title, in its original spelling. Local times that a
//! DST change skips move forward by the gap (02:30 → 03:30); repeated ones take the first.

use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use common::tasks::{Priority, RecurringMode};

mod phrases;

use phrases::phrase;

/// The time of day a date without a time is due at (local time).
pub const DEFAULT_TIME: (u32, u32) = (9, 0);

/// What a quick-add text says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuickAdd {
    /// The words that are not a date, time, recurrence, priority or tag.
    pub title: String,
    /// When the task is due.
    pub due_date: Option<DateTime<Utc>>,
    /// From `p1`–`p3`.
    pub priority: Option<Priority>,
    /// From `#tag`, without the `#`, in order of appearance.
    pub tags: Vec<String>,
    /// A preset (`daily`, `weekdays`, `weekly`, `monthly`, `yearly`) or an RRULE.
    pub recurring_rule: Option<String>,
    /// `completion` for `every!`, `schedule` for `every`.
    pub recurring_mode: Option<RecurringMode>,
}

/// One recognised phrase.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Date(NaiveDate),
    Time(NaiveTime),
    Instant(DateTime<Utc>),
    Repeat(Repeat),
}

#[derive(Debug, Clone, PartialEq)]
struct Repeat {
    rule: String,
    mode: RecurringMode,
    /// Days the first occurrence may fall on (`None`: any day).
    days: Option<Vec<Weekday>>,
}

/// Parses a quick-add text in `tz` at `now`.
pub fn parse(text: &str, tz: Tz, now: DateTime<Utc>) -> QuickAdd {
    let today = now.with_timezone(&tz).date_naive();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let lower: Vec<String> = tokens
        .iter()
        .map(|t| t.trim_end_matches([',', ';']).to_lowercase())
        .collect();
    let mut result = QuickAdd::default();
    let (mut date, mut time, mut instant, mut repeat) = (None, None, None, None);
    let mut rest: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let word = lower[i].as_str();
        if let Some(priority) = priority(word) {
            if result.priority.is_none() {
                result.priority = Some(priority);
                i += 1;
                continue;
            }
        } else if let Some(tag) = word.strip_prefix('#').filter(|t| !t.is_empty()) {
            result.tags.push(tag.to_owned());
            i += 1;
            continue;
        }
        let Some((piece, used)) = phrase(&lower[i..], today, now) else {
            rest.push(tokens[i]);
            i += 1;
            continue;
        };
        // A second phrase of the same kind is left in the title rather than silently winning.
        let taken = match piece {
            Piece::Date(d) if date.is_none() && instant.is_none() => date.replace(d).is_none(),
            Piece::Time(t) if time.is_none() && instant.is_none() => time.replace(t).is_none(),
            Piece::Instant(t) if date.is_none() && time.is_none() && instant.is_none() => {
                instant.replace(t).is_none()
            }
            Piece::Repeat(r) if repeat.is_none() => repeat.replace(r).is_none(),
            _ => false,
        };
        if taken {
            i += used;
        } else {
            rest.push(tokens[i]);
            i += 1;
        }
    }
    result.title = rest.join(" ");
    let time_given = time.is_some();
    let at = time.unwrap_or_else(default_time);
    result.due_date = match (instant, date, &repeat) {
        (Some(instant), _, _) => Some(instant),
        (None, Some(date), _) => Some(localize(tz, date.and_time(at))),
        (None, None, Some(repeat)) => Some(first_occurrence(tz, now, today, at, repeat)),
        (None, None, None) if time_given => {
            let candidate = localize(tz, today.and_time(at));
            Some(if candidate > now {
                candidate
            } else {
                localize(tz, next_day(today).and_time(at))
            })
        }
        (None, None, None) => None,
    };
    if let Some(repeat) = repeat {
        result.recurring_rule = Some(repeat.rule);
        result.recurring_mode = Some(repeat.mode);
    }
    result
}

/// Reads `text` as nothing but a date/time phrase (`tomorrow 5pm`, `in 3 days`), or an RFC 3339
/// timestamp. Anything left over is an error naming it, so a tool call cannot smuggle a
/// wrong date through.
pub fn parse_when(text: &str, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(exact) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(exact.with_timezone(&Utc));
    }
    let parsed = parse(text, tz, now);
    if !parsed.title.is_empty() || !parsed.tags.is_empty() || parsed.priority.is_some() {
        let left = &parsed.title;
        return Err(format!("could not read {left:?} as a date or time"));
    }
    if parsed.recurring_rule.is_some() {
        return Err("a recurrence is not a single date".to_owned());
    }
    parsed
        .due_date
        .ok_or_else(|| format!("could not read {text:?} as a date or time"))
}

/// Reads `text` (`every weekday`, `every! 2 weeks`, or the same without `every`) as a
/// recurrence: the rule, its mode and its first occurrence.
pub fn parse_repeat(
    text: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(String, RecurringMode, DateTime<Utc>), String> {
    let trimmed = text.trim();
    let lower = trimmed.to_lowercase();
    let phrase = if lower.starts_with("every") {
        trimmed.to_owned()
    } else {
        format!("every {trimmed}")
    };
    let parsed = parse(&phrase, tz, now);
    match (
        parsed.recurring_rule,
        parsed.recurring_mode,
        parsed.due_date,
    ) {
        (Some(rule), Some(mode), Some(first)) if parsed.title.is_empty() => Ok((rule, mode, first)),
        _ => Err(format!("could not read {text:?} as a recurrence")),
    }
}

fn default_time() -> NaiveTime {
    NaiveTime::from_hms_opt(DEFAULT_TIME.0, DEFAULT_TIME.1, 0).unwrap_or(NaiveTime::MIN)
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

fn priority(word: &str) -> Option<Priority> {
    match word {
        "p1" => Some(Priority::High),
        "p2" => Some(Priority::Medium),
        "p3" => Some(Priority::Low),
        _ => None,
    }
}

/// The instant of a local wall-clock time in `tz`, moving skipped times forward by the gap and
/// taking the earlier of repeated ones.
pub fn localize(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap: read the wall time with the offset in force before the gap, which lands
            // as far past the gap's end as the time was past its start.
            let before = local - Duration::hours(12);
            let offset = tz.offset_from_utc_datetime(&before).fix();
            (local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
        }
    }
}

fn first_occurrence(
    tz: Tz,
    now: DateTime<Utc>,
    today: NaiveDate,
    at: NaiveTime,
    repeat: &Repeat,
) -> DateTime<Utc> {
    let mut day = today;
    for _ in 0..8 {
        let matches = repeat
            .days
            .as_ref()
            .is_none_or(|days| days.contains(&day.weekday()));
        let candidate = localize(tz, day.and_time(at));
        if matches && candidate > now {
            return candidate;
        }
        day = next_day(day);
    }
    localize(tz, day.and_time(at))
}

#[cfg(test)]
mod tests;

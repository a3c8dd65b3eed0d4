//! The deterministic quick-add and date parser shared by `POST /api/tasks/parse` (the UI's
//! quick-add box) and the assistant's tools, so neither the browser nor a language model ever
//! computes a date or a time-zone offset.
//!
//! Everything is evaluated in the user's IANA time zone at an injected "now":
//! - dates: `today`, `tomorrow`, `next week`, `next monday` (the Monday of next week),
//!   `friday` / `on friday` / `this friday` / `by friday` (the next Friday after today; the
//!   short `fri` only after a preposition), `in 3 days`,
//!   `in 2 weeks`, `in 1 month` (clamped to the month's end), `dec 24`, `24 december`,
//!   `dec 24 2027`, `2026-12-24`;
//! - times: `5pm`, `5:30 pm`, `17:00`, `9:30`, `noon`, `at 5pm`, `at 17`; `in 2 hours` and
//!   `in 30 minutes` are exact instants. A date without a time is due at [`DEFAULT_TIME`]; a
//!   time without a date is today's if still ahead, else tomorrow's;
//! - recurrence: `every day|weekday|week|month|year`, `every monday`, `every 2 weeks`,
//!   `every other week`; `every!` counts the next occurrence from completion (Todoist's
//!   `every!`). Without a date the first occurrence is the first matching day still ahead;
//! - `p1`/`p2`/`p3` and `!high`/`!medium`/`!low` (`!h`/`!m`/`!l`) → priority, `#tag` → tags.
//!
//! Whatever is not recognised stays in the title, in its original spelling. Text in double
//! quotes is never read: `"Friday Night Lights" tomorrow` keeps the show's name in the title,
//! without the quotes, and is due tomorrow. A quote with no partner is an ordinary character.
//! Every recognised phrase is reported as a [`Span`] of the text, so the UI can highlight it
//! and offer to keep it literal (by quoting it). Local times that a DST change skips move
//! forward by the gap (02:30 → 03:30); repeated ones take the first.

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
    /// Where the recognised phrases stand in the text, in order.
    pub spans: Vec<Span>,
}

/// What a recognised phrase sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A date, a time or both (`friday 5pm`, `in 2 hours`).
    Due,
    /// A recurrence (`every monday`).
    Repeat,
    /// `p1`, `!high`.
    Priority,
    /// `#home`.
    Tag,
}

/// A recognised phrase: the byte range of the text it covers (without trailing `,`/`;`).
/// Adjacent date and time phrases (`friday 5pm`) form one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// What it sets.
    pub kind: SpanKind,
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// A word of the text, or a quoted part of it (`literal`, never read as a phrase).
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    /// As written; for a literal, what stands between the quotes, trimmed.
    text: &'a str,
    start: usize,
    /// Where the word ends without a trailing `,` or `;`.
    core_end: usize,
    literal: bool,
}

/// Splits `text` at whitespace, taking each pair of double quotes with what stands between
/// them as one literal token.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let word = |start: usize, end: usize| {
        let written = &text[start..end];
        Token {
            text: written,
            start,
            core_end: start + written.trim_end_matches([',', ';']).len(),
            literal: false,
        }
    };
    let mut tokens = Vec::new();
    let mut word_start = None;
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let closing = if c == '"' {
            text[pos + 1..].find('"')
        } else {
            None
        };
        if (c.is_whitespace() || closing.is_some())
            && let Some(start) = word_start.take()
        {
            tokens.push(word(start, pos));
        }
        if let Some(length) = closing {
            let inner = text[pos + 1..pos + 1 + length].trim();
            if !inner.is_empty() {
                tokens.push(Token {
                    text: inner,
                    start: pos,
                    core_end: pos + length + 2,
                    literal: true,
                });
            }
            pos += length + 2;
            continue;
        }
        if !c.is_whitespace() && word_start.is_none() {
            word_start = Some(pos);
        }
        pos += c.len_utf8();
    }
    if let Some(start) = word_start {
        tokens.push(word(start, text.len()));
    }
    tokens
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
    let tokens = tokenize(text);
    let lower: Vec<String> = tokens
        .iter()
        .map(|t| t.text.trim_end_matches([',', ';']).to_lowercase())
        .collect();
    let mut result = QuickAdd::default();
    let (mut date, mut time, mut instant, mut repeat) = (None, None, None, None);
    let mut rest: Vec<&str> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        let word = lower[i].as_str();
        let single = |kind| Span {
            kind,
            start: token.start,
            end: token.core_end,
        };
        if token.literal {
            rest.push(token.text);
            i += 1;
            continue;
        }
        if let Some(priority) = priority(word) {
            if result.priority.is_none() {
                result.priority = Some(priority);
                spans.push(single(SpanKind::Priority));
                i += 1;
                continue;
            }
        } else if let Some(tag) = word.strip_prefix('#').filter(|t| !t.is_empty()) {
            result.tags.push(tag.to_owned());
            spans.push(single(SpanKind::Tag));
            i += 1;
            continue;
        }
        // A phrase never reaches into a quoted part.
        let words_end = tokens[i..]
            .iter()
            .position(|t| t.literal)
            .map_or(tokens.len(), |n| i + n);
        let Some((piece, used)) = phrase(&lower[i..words_end], today, now) else {
            rest.push(token.text);
            i += 1;
            continue;
        };
        // A second phrase of the same kind is left in the title rather than silently winning.
        let kind = if matches!(piece, Piece::Repeat(_)) {
            SpanKind::Repeat
        } else {
            SpanKind::Due
        };
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
            spans.push(Span {
                kind,
                start: token.start,
                end: tokens[i + used - 1].core_end,
            });
            i += used;
        } else {
            rest.push(token.text);
            i += 1;
        }
    }
    result.spans = merge_due_spans(text, spans);
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

/// Joins a date span and a time span with only whitespace between them (`friday 5pm`).
fn merge_due_spans(text: &str, spans: Vec<Span>) -> Vec<Span> {
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last)
                if last.kind == SpanKind::Due
                    && span.kind == SpanKind::Due
                    && text[last.end..span.start].trim().is_empty() =>
            {
                last.end = span.end;
            }
            _ => merged.push(span),
        }
    }
    merged
}

/// [`DEFAULT_TIME`] as a time of day.
pub(crate) fn default_time() -> NaiveTime {
    NaiveTime::from_hms_opt(DEFAULT_TIME.0, DEFAULT_TIME.1, 0).unwrap_or(NaiveTime::MIN)
}

/// The day after `day` (itself at the end of the calendar).
pub(crate) fn next_day(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

fn priority(word: &str) -> Option<Priority> {
    match word {
        "p1" | "!high" | "!h" => Some(Priority::High),
        "p2" | "!medium" | "!m" => Some(Priority::Medium),
        "p3" | "!low" | "!l" => Some(Priority::Low),
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

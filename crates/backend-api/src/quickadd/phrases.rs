//! The phrase matchers of the quick-add parser: each looks at the words from one position
//! and says which date, time or recurrence they start with and how many words it takes.

use chrono::{DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveTime, Utc, Weekday};
use common::tasks::RecurringMode;

use super::{Piece, Repeat, next_day};

/// The longest date, time or recurrence phrase at the start of `words`, with its length.
pub(super) fn phrase(
    words: &[String],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Option<(Piece, usize)> {
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str);
    match first {
        "today" => return Some((Piece::Date(today), 1)),
        "tomorrow" | "tmrw" => return Some((Piece::Date(next_day(today)), 1)),
        "noon" => return Some((Piece::Time(NaiveTime::from_hms_opt(12, 0, 0)?), 1)),
        "every" | "every!" => {
            let mode = if first == "every!" {
                RecurringMode::Completion
            } else {
                RecurringMode::Schedule
            };
            let (repeat, used) = repeat(&words[1..], mode)?;
            return Some((Piece::Repeat(repeat), used + 1));
        }
        "next" => {
            return match second? {
                "week" => Some((Piece::Date(week_start(today, 1)), 2)),
                "month" => {
                    let first_of_month = today.with_day(1)?;
                    Some((
                        Piece::Date(first_of_month.checked_add_months(Months::new(1))?),
                        2,
                    ))
                }
                name => {
                    let wanted = weekday(name)?;
                    let monday = week_start(today, 1);
                    let offset = u64::from(wanted.num_days_from_monday());
                    Some((Piece::Date(monday.checked_add_days(Days::new(offset))?), 2))
                }
            };
        }
        "in" => return relative(&words[1..], today, now).map(|(p, used)| (p, used + 1)),
        "on" | "this" | "by" | "due" => {
            if let Some(wanted) = second.and_then(weekday) {
                return Some((Piece::Date(after_today(today, wanted)), 2));
            }
            if first != "this" {
                return phrase(&words[1..], today, now)
                    .filter(|(p, _)| matches!(p, Piece::Date(_)))
                    .map(|(p, used)| (p, used + 1));
            }
            return None;
        }
        "at" => {
            if let Some((time, used)) = time(&words[1..]) {
                return Some((Piece::Time(time), used + 1));
            }
            // `at 17`: a bare hour only counts after "at".
            let hour: u32 = second?.parse().ok()?;
            return Some((Piece::Time(NaiveTime::from_hms_opt(hour, 0, 0)?), 2));
        }
        // A weekday's full name alone (`friday 5pm`); the short forms `sat`, `sun` and `wed`
        // are everyday words, so they count only after `on`, `this`, `by`, `next` or `every`.
        name if name.len() > 5 && weekday(name).is_some() => {
            return weekday(name).map(|wanted| (Piece::Date(after_today(today, wanted)), 1));
        }
        _ => {}
    }
    if let Some((date, used)) = calendar_date(words, today) {
        return Some((Piece::Date(date), used));
    }
    time(words).map(|(t, used)| (Piece::Time(t), used))
}

fn week_start(today: NaiveDate, weeks_ahead: u64) -> NaiveDate {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    monday
        .checked_add_days(Days::new(7 * weeks_ahead))
        .unwrap_or(monday)
}

/// The first `wanted` day after today (1 to 7 days ahead).
fn after_today(today: NaiveDate, wanted: Weekday) -> NaiveDate {
    let ahead = (7 + wanted.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    today
        .checked_add_days(Days::new(u64::from(ahead)))
        .unwrap_or(today)
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn byday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn count(word: &str) -> Option<u32> {
    match word {
        "a" | "an" | "one" => Some(1),
        "two" => Some(2),
        "three" => Some(3),
        _ => word.parse().ok().filter(|n| (1..=1000).contains(n)),
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word.trim_end_matches('s') {
        "minute" | "min" => Unit::Minute,
        "hour" | "hr" => Unit::Hour,
        "day" => Unit::Day,
        "week" | "wk" => Unit::Week,
        "month" => Unit::Month,
        "year" | "yr" => Unit::Year,
        _ => return None,
    })
}

/// `in <n> <unit>`.
fn relative(words: &[String], today: NaiveDate, now: DateTime<Utc>) -> Option<(Piece, usize)> {
    let n = count(words.first()?)?;
    let unit = unit(words.get(1)?)?;
    let piece = match unit {
        Unit::Minute => Piece::Instant(now + Duration::minutes(i64::from(n))),
        Unit::Hour => Piece::Instant(now + Duration::hours(i64::from(n))),
        Unit::Day => Piece::Date(today.checked_add_days(Days::new(u64::from(n)))?),
        Unit::Week => Piece::Date(today.checked_add_days(Days::new(7 * u64::from(n)))?),
        Unit::Month => Piece::Date(today.checked_add_months(Months::new(n))?),
        Unit::Year => Piece::Date(today.checked_add_months(Months::new(12 * n))?),
    };
    Some((piece, 2))
}

/// After `every`: `day`, `weekday`, `monday`, `2 weeks`, `other week`.
fn repeat(words: &[String], mode: RecurringMode) -> Option<(Repeat, usize)> {
    let first = words.first()?.as_str();
    let preset = |rule: &str, days: Option<Vec<Weekday>>| Repeat {
        rule: rule.to_owned(),
        mode,
        days,
    };
    if matches!(first, "weekday" | "weekdays" | "workday" | "workdays") {
        let days = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        return Some((preset("weekdays", Some(days)), 1));
    }
    if let Some(day) = weekday(first) {
        let rule = format!("FREQ=WEEKLY;BYDAY={}", byday(day));
        return Some((preset(&rule, Some(vec![day])), 1));
    }
    let (n, used) = match first {
        "other" => (2, 1),
        _ => match count(first) {
            Some(n) if words.len() > 1 && first != "a" && first != "an" => (n, 1),
            _ => (1, 0),
        },
    };
    let freq = match unit(words.get(used)?)? {
        Unit::Day => ("daily", "DAILY"),
        Unit::Week => ("weekly", "WEEKLY"),
        Unit::Month => ("monthly", "MONTHLY"),
        Unit::Year => ("yearly", "YEARLY"),
        Unit::Minute | Unit::Hour => return None,
    };
    let rule = if n == 1 {
        freq.0.to_owned()
    } else {
        format!("FREQ={};INTERVAL={n}", freq.1)
    };
    Some((preset(&rule, None), used + 1))
}

fn month(word: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = word.trim_end_matches('.');
    let at = NAMES
        .iter()
        .position(|n| *n == word)
        .or_else(|| FULL.iter().position(|n| *n == word))
        .or_else(|| (word == "sept").then_some(8))?;
    u32::try_from(at + 1).ok()
}

fn day_of_month(word: &str) -> Option<u32> {
    let digits = word
        .strip_suffix("st")
        .or_else(|| word.strip_suffix("nd"))
        .or_else(|| word.strip_suffix("rd"))
        .or_else(|| word.strip_suffix("th"))
        .unwrap_or(word);
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year(word: Option<&String>) -> Option<i32> {
    let word = word?;
    (word.len() == 4)
        .then(|| word.parse().ok())
        .flatten()
        .filter(|y| (1970..=9999).contains(y))
}

/// `2026-12-24`, `dec 24 [2027]`, `24 dec [2027]`. Without a year, the next such day from today.
fn calendar_date(words: &[String], today: NaiveDate) -> Option<(NaiveDate, usize)> {
    let first = words.first()?;
    if let Ok(date) = NaiveDate::parse_from_str(first, "%Y-%m-%d") {
        return Some((date, 1));
    }
    let second = words.get(1)?;
    let (month, day) = match (month(first), day_of_month(second)) {
        (Some(m), Some(d)) => (m, d),
        _ => (month(second)?, day_of_month(first)?),
    };
    if let Some(year) = year(words.get(2)) {
        return Some((NaiveDate::from_ymd_opt(year, month, day)?, 3));
    }
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
    match this_year {
        Some(date) if date >= today => Some((date, 2)),
        _ => Some((NaiveDate::from_ymd_opt(today.year() + 1, month, day)?, 2)),
    }
}

/// `5pm`, `5:30pm`, `5 pm`, `17:00`, `9:30`.
fn time(words: &[String]) -> Option<(NaiveTime, usize)> {
    let first = words.first()?.as_str();
    let (clock, meridiem, used) = if let Some(clock) = first.strip_suffix("am") {
        (clock, Some(false), 1)
    } else if let Some(clock) = first.strip_suffix("pm") {
        (clock, Some(true), 1)
    } else {
        match words.get(1).map(String::as_str) {
            Some("am" | "a.m.") => (first, Some(false), 2),
            Some("pm" | "p.m.") => (first, Some(true), 2),
            _ => (first, None, 1),
        }
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        // A bare number is only a time with am/pm ("5pm"), never on its own ("buy 5 apples").
        None if meridiem.is_some() => (clock.parse::<u32>().ok()?, 0),
        _ => return None,
    };
    if clock.is_empty()
        || !clock
            .split(':')
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => hour,
    };
    Some((NaiveTime::from_hms_opt(hour, minute, 0)?, used))
}

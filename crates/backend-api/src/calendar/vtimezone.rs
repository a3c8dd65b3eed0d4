//! VTIMEZONE components (RFC 5545 §3.6.5) from the IANA database that `chrono-tz` carries.
//!
//! A recurring task's occurrences are written as wall-clock times in its zone (so a daily
//! 09:00 stays at 09:00 across daylight-saving changes), and RFC 5545 requires every `TZID` a
//! calendar uses to be defined in it. The definition lists the zone's actual transitions over
//! a window of years, each as its own observance: exact for any zone (no guessing of a yearly
//! rule), at the price of a few dozen lines per zone. Calendar apps that know IANA names (all
//! the common ones) use the name; the rest read these offsets.

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::ics::{Ics, local, utc_offset};

/// How a zone stands at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Standing {
    /// Seconds east of UTC, daylight saving included.
    offset: i32,
    /// Whether daylight saving is in effect.
    daylight: bool,
    /// The abbreviation (`CET`, `CEST`), if the database has one.
    name: Option<String>,
}

fn standing(tz: Tz, at: i64) -> Standing {
    let instant = DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default();
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
    Standing {
        offset: offset.fix().local_minus_utc(),
        daylight: !offset.dst_offset().is_zero(),
        name: offset.abbreviation().map(str::to_owned),
    }
}

/// One observance: from `onset` (a UTC instant) the zone stands as `to`, having stood as
/// `from`.
#[derive(Debug)]
struct Observance {
    onset: i64,
    from: Standing,
    to: Standing,
}

fn year_start(year: i32) -> i64 {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp())
}

/// The zone's observances from the start of `from_year` to the end of `to_year`: the standing
/// at the start, then every change of offset or of daylight saving, found by stepping a day at
/// a time and bisecting to the second.
fn observances(tz: Tz, from_year: i32, to_year: i32) -> Vec<Observance> {
    const DAY: i64 = 86_400;
    let (start, end) = (year_start(from_year), year_start(to_year + 1));
    let first = standing(tz, start);
    let mut found = vec![Observance {
        onset: start,
        from: first.clone(),
        to: first.clone(),
    }];
    let (mut at, mut current) = (start, first);
    while at < end {
        let next = (at + DAY).min(end);
        let then = standing(tz, next);
        if (then.offset, then.daylight) != (current.offset, current.daylight) {
            // The change lies in (at, next]: find its first second.
            let (mut before, mut after) = (at, next);
            while after - before > 1 {
                let mid = before + (after - before) / 2;
                let s = standing(tz, mid);
                if (s.offset, s.daylight) == (current.offset, current.daylight) {
                    before = mid;
                } else {
                    after = mid;
                }
            }
            let to = standing(tz, after);
            found.push(Observance {
                onset: after,
                from: current,
                to: to.clone(),
            });
            current = to;
        }
        at = next;
    }
    found
}

/// Writes the VTIMEZONE of `tz` covering the years `from_year` to `to_year`.
pub fn write(ics: &mut Ics, tz: Tz, from_year: i32, to_year: i32) {
    ics.begin("VTIMEZONE");
    ics.raw("TZID", tz.name());
    for observance in observances(tz, from_year, to_year) {
        let kind = if observance.to.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        // The onset is given as wall-clock time in the offset in effect before it (§3.6.5).
        let onset = DateTime::<Utc>::from_timestamp(observance.onset, 0).unwrap_or_default()
            + chrono::Duration::seconds(i64::from(observance.from.offset));
        ics.begin(kind);
        ics.raw("DTSTART", &local(onset.naive_utc()));
        ics.raw("TZOFFSETFROM", &utc_offset(observance.from.offset));
        ics.raw("TZOFFSETTO", &utc_offset(observance.to.offset));
        if let Some(name) = &observance.to.name {
            ics.text("TZNAME", name);
        }
        ics.end(kind);
    }
    ics.end("VTIMEZONE");
}

/// The years a feed's zone definitions cover: from the earliest occurrence written to ten
/// years after `now`.
pub fn window(earliest: DateTime<Utc>, now: DateTime<Utc>) -> (i32, i32) {
    (earliest.year().min(now.year()), now.year() + 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_changes_twice_a_year_at_one_in_the_morning_utc() {
        let found = observances(chrono_tz::Europe::Berlin, 2026, 2026);
        let onsets: Vec<_> = found
            .iter()
            .map(|o| {
                DateTime::<Utc>::from_timestamp(o.onset, 0)
                    .expect("an onset within the window")
                    .to_rfc3339()
            })
            .collect();
        assert_eq!(
            onsets,
            [
                "2026-01-01T00:00:00+00:00",
                "2026-03-29T01:00:00+00:00",
                "2026-10-25T01:00:00+00:00"
            ]
        );
        assert_eq!((found[1].from.offset, found[1].to.offset), (3600, 7200));
        assert!(found[1].to.daylight && !found[2].to.daylight);
        assert_eq!(found[1].to.name.as_deref(), Some("CEST"));
    }

    #[test]
    fn a_zone_without_daylight_saving_has_one_observance() {
        let mut ics = Ics::new();
        write(&mut ics, chrono_tz::Asia::Tokyo, 2026, 2036);
        assert_eq!(
            ics.finish(),
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo\r\nBEGIN:STANDARD\r\nDTSTART:20260101T090000\r\n\
             TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST\r\nEND:STANDARD\r\n\
             END:VTIMEZONE\r\n"
        );
    }

    #[test]
    fn the_onset_is_wall_clock_time_before_the_change() {
        let mut ics = Ics::new();
        write(&mut ics, chrono_tz::America::New_York, 2026, 2026);
        let text = ics.finish();
        // 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
        assert!(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400"), "{text}");
        assert!(text.contains("BEGIN:STANDARD\r\nDTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500"), "{text}");
    }
}

//! Writing iCalendar (RFC 5545) text: content lines with escaped TEXT values, folded at 75
//! octets on character boundaries, each ended by CRLF.
//!
//! Written here rather than with the `icalendar` crate because that crate adds a `DTSTAMP`
//! to every component it prints, VALARM and VTIMEZONE included, where RFC 5545 does not allow
//! one. Its parser checks this writer's output in the tests.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The longest content line in octets, without its CRLF (RFC 5545 §3.1).
const MAX_LINE_OCTETS: usize = 75;

/// A calendar object being written.
#[derive(Debug, Default)]
pub struct Ics {
    out: String,
}

impl Ics {
    pub fn new() -> Self {
        Self::default()
    }

    /// `BEGIN:<component>`.
    pub fn begin(&mut self, component: &str) {
        self.line(&format!("BEGIN:{component}"));
    }

    /// `END:<component>`.
    pub fn end(&mut self, component: &str) {
        self.line(&format!("END:{component}"));
    }

    /// A property whose value is already in its iCalendar form (a date-time, a duration, an
    /// RRULE, an integer): `name` may carry parameters (`DTSTART;TZID=Europe/Berlin`).
    pub fn raw(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{value}"));
    }

    /// A TEXT property, escaped (§3.3.11).
    pub fn text(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{}", escape_text(value)));
    }

    /// A property with several TEXT values separated by commas (`CATEGORIES`).
    pub fn text_list(&mut self, name: &str, values: &[String]) {
        let escaped: Vec<String> = values.iter().map(|v| escape_text(v)).collect();
        self.line(&format!("{name}:{}", escaped.join(",")));
    }

    /// A UTC DATE-TIME property (`20261204T160000Z`).
    pub fn utc(&mut self, name: &str, at: DateTime<Utc>) {
        self.raw(name, &utc(at));
    }

    /// A DATE-TIME property as wall-clock time in the zone `tzid`, defined by a VTIMEZONE of
    /// the same calendar.
    pub fn local(&mut self, name: &str, tzid: &str, at: NaiveDateTime) {
        self.raw(&format!("{name};TZID={tzid}"), &local(at));
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Writes one content line, folded: a line longer than 75 octets continues on the next
    /// line after CRLF and one space, never inside a UTF-8 sequence.
    fn line(&mut self, line: &str) {
        let mut octets = 0;
        for ch in line.chars() {
            let width = ch.len_utf8();
            if octets + width > MAX_LINE_OCTETS {
                self.out.push_str("\r\n ");
                // The space counts towards the continuation line's length.
                octets = 1;
            }
            self.out.push(ch);
            octets += width;
        }
        self.out.push_str("\r\n");
    }
}

/// A UTC DATE-TIME value.
pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A floating (zone-less) DATE-TIME value, for `TZID=` properties and VTIMEZONE onsets.
pub fn local(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%S").to_string()
}

/// A DURATION value (§3.3.6) of whole seconds: `-PT15M`, `P1DT2H`, `PT0S`.
pub fn duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let mut rest = seconds.unsigned_abs();
    let days = rest / 86_400;
    rest %= 86_400;
    let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut out = format!("{sign}P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rest > 0 || days == 0 {
        out.push('T');
        if hours > 0 {
            out.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            out.push_str(&format!("{minutes}M"));
        }
        if secs > 0 || rest == 0 {
            out.push_str(&format!("{secs}S"));
        }
    }
    out
}

/// A UTC offset value (§3.3.14): `+0100`, `-0930`, `+053728` when there are seconds.
pub fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let total = seconds.unsigned_abs();
    let (hours, minutes, secs) = (total / 3600, total % 3600 / 60, total % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines (§3.3.11). Other control
/// characters are not allowed in a content line (§3.1) and are dropped.
fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut ics = Ics::new();
        ics.text("SUMMARY", "a;b,c\\d\r\ne\nf\u{7}g");
        assert_eq!(ics.finish(), "SUMMARY:a\\;b\\,c\\\\d\\ne\\nfg\r\n");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut ics = Ics::new();
        let title = "ü".repeat(100);
        ics.text("SUMMARY", &title);
        let text = ics.finish();
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(
                line.len() <= MAX_LINE_OCTETS,
                "{} octets: {line}",
                line.len()
            );
        }
        let unfolded = text.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{title}\r\n"));
    }

    #[test]
    fn durations_and_offsets() {
        assert_eq!(duration(-900), "-PT15M");
        assert_eq!(duration(0), "PT0S");
        assert_eq!(duration(86_400 + 7200), "P1DT2H");
        assert_eq!(duration(2 * 86_400), "P2D");
        assert_eq!(duration(3661), "PT1H1M1S");
        assert_eq!(utc_offset(3600), "+0100");
        assert_eq!(utc_offset(-34_200), "-0930");
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(3208), "+005328");
    }
}

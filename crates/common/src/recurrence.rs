//! Recurrence rules (docs/contract.md §4 `recurring_rule`): a preset name or an RFC 5545 RRULE,
//! parsed and validated with the `rrule` crate. The next-occurrence computation lives with its
//! only user, the recurring service; validation lives here because the API must refuse a bad rule
//! before it is stored.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The longest rule accepted.
pub const MAX_RULE_LEN: usize = 500;

/// The RRULE a preset stands for, or `None` if `rule` is not a preset.
pub fn preset_rrule(rule: &str) -> Option<&'static str> {
    match rule {
        "daily" => Some("FREQ=DAILY"),
        "weekdays" => Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        "weekly" => Some("FREQ=WEEKLY"),
        "monthly" => Some("FREQ=MONTHLY"),
        "yearly" => Some("FREQ=YEARLY"),
        _ => None,
    }
}

/// Normalises a rule as given by a client: presets lower-cased, RRULE parts upper-cased with an
/// optional `RRULE:` prefix removed.
pub fn normalize(rule: &str) -> String {
    let trimmed = rule.trim();
    let lower = trimmed.to_ascii_lowercase();
    if preset_rrule(&lower).is_some() {
        return lower;
    }
    let body = trimmed
        .strip_prefix("RRULE:")
        .or_else(|| trimmed.strip_prefix("rrule:"))
        .unwrap_or(trimmed);
    body.to_ascii_uppercase()
}

/// Parses `rule` (normalised) into an rrule set starting at `start` in `tz`.
pub fn rrule_set(rule: &str, start: DateTime<Utc>, tz: Tz) -> Result<rrule::RRuleSet, String> {
    if rule.len() > MAX_RULE_LEN {
        return Err(format!("at most {MAX_RULE_LEN} characters"));
    }
    let body = preset_rrule(rule).unwrap_or(rule);
    // Only the RRULE body is accepted: no DTSTART, EXDATE or extra lines smuggled in.
    if body.contains(['\n', '\r', ':']) || body.contains("DTSTART") {
        return Err("expected a preset or an RRULE such as FREQ=WEEKLY;BYDAY=MO".to_owned());
    }
    let parsed: rrule::RRule<rrule::Unvalidated> =
        body.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    if matches!(
        parsed.get_freq(),
        rrule::Frequency::Hourly | rrule::Frequency::Minutely | rrule::Frequency::Secondly
    ) {
        // A series walks its occurrences from its start: sub-daily rules over an old start
        // mean millions of steps for one completion, an easy way for one user to burn the
        // recurring service's CPU. A task manager's series repeat daily at most.
        return Err(
            "repeats at most daily: HOURLY, MINUTELY and SECONDLY are not accepted".to_owned(),
        );
    }
    let dtstart = start.with_timezone(&rrule::Tz::Tz(tz));
    let validated = parsed.validate(dtstart).map_err(|e| e.to_string())?;
    Ok(rrule::RRuleSet::new(dtstart).rrule(validated))
}

/// Checks that `rule` is a preset or a valid RRULE; returns it normalised.
pub fn validate(rule: &str) -> Result<String, String> {
    let normalized = normalize(rule);
    rrule_set(&normalized, Utc::now(), Tz::UTC)?;
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn presets_and_rrules_are_accepted_and_normalised() {
        assert_eq!(validate("Daily").as_deref(), Ok("daily"));
        assert_eq!(
            validate("RRULE:freq=weekly;interval=2;byday=MO,FR").as_deref(),
            Ok("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR")
        );
        assert!(validate("FREQ=MONTHLY;BYMONTHDAY=-1").is_ok());
        assert!(validate("FREQ=DAILY;COUNT=3").is_ok());
        assert!(validate("FREQ=DAILY;UNTIL=20301231T000000Z").is_ok());
    }

    #[test]
    fn garbage_and_smuggled_lines_are_refused() {
        assert!(validate("every tuesday").is_err());
        assert!(validate("FREQ=SOMETIMES").is_err());
        assert!(validate("FREQ=DAILY\nEXDATE:20300101T000000Z").is_err());
        assert!(validate("DTSTART:20200101T000000Z").is_err());
        assert!(validate(&"FREQ=DAILY;".repeat(100)).is_err());
    }

    #[test]
    fn sub_daily_rules_are_refused() {
        for rule in [
            "FREQ=SECONDLY",
            "FREQ=MINUTELY;INTERVAL=5",
            "FREQ=HOURLY",
            "RRULE:freq=secondly;count=1000000",
        ] {
            let error = validate(rule).unwrap_err();
            assert!(error.contains("at most daily"), "{rule}: {error}");
        }
    }
}

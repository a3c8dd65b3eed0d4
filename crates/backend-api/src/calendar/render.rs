//! A user's tasks as an iCalendar object (RFC 5545).
//!
//! Two shapes of the same feed, because calendar apps differ:
//! - `events` (the default): a VEVENT at the due time of every open task that has one, for
//!   Google Calendar, Outlook and Apple Calendar, which show only events. A recurring task on
//!   a fixed schedule carries its RRULE with wall-clock times in its zone (a VTIMEZONE defines
//!   the zone), so the calendar shows the coming occurrences; its reminder is a VALARM
//!   relative to the start, so every occurrence has it.
//! - `todos`: a VTODO for every open task and every task completed in the last 30 days, for
//!   task-aware clients (Thunderbird, Apple Reminders, DAVx⁵/jtx), with DUE, STATUS,
//!   COMPLETED and the reminder as an absolute VALARM.
//!
//! The text depends only on the tasks (and the year, for the zones' window), so an unchanged
//! list gives the same bytes and the same `ETag`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::recurrence::preset_rrule;
use common::tasks::{Priority, RecurringMode, Task, TaskStatus};

use super::ics::{Ics, duration};
use super::vtimezone;

/// Which components the feed holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Events,
    Todos,
}

/// The calendar object for `tasks` (already selected for `kind`).
pub fn calendar(tasks: &[Task], kind: FeedKind, now: DateTime<Utc>) -> String {
    let mut ics = Ics::new();
    ics.begin("VCALENDAR");
    ics.raw("VERSION", "2.0");
    ics.raw("PRODID", "-//taskfleet//Calendar feed//EN");
    ics.raw("CALSCALE", "GREGORIAN");
    let name = match kind {
        FeedKind::Events => "taskfleet",
        FeedKind::Todos => "taskfleet to-dos",
    };
    // RFC 7986's NAME and REFRESH-INTERVAL, and the older X- properties most apps read.
    ics.text("NAME", name);
    ics.text("X-WR-CALNAME", name);
    ics.raw("REFRESH-INTERVAL;VALUE=DURATION", "PT15M");
    ics.raw("X-PUBLISHED-TTL", "PT15M");
    match kind {
        FeedKind::Events => {
            let recurring: Vec<(&Task, Tz)> = tasks.iter().filter_map(repeating_zone).collect();
            let zones: BTreeSet<&str> = recurring.iter().map(|(_, tz)| tz.name()).collect();
            if let Some(earliest) = recurring.iter().filter_map(|(t, _)| t.due_date).min() {
                let (from, to) = vtimezone::window(earliest, now);
                for zone in zones {
                    if let Ok(tz) = zone.parse::<Tz>() {
                        vtimezone::write(&mut ics, tz, from, to);
                    }
                }
            }
            for task in tasks {
                event(&mut ics, task);
            }
        }
        FeedKind::Todos => {
            for task in tasks {
                todo(&mut ics, task);
            }
        }
    }
    ics.end("VCALENDAR");
    ics.finish()
}

/// The zone of a task written as a repeating event: pending, due, on a fixed schedule. (A
/// task that repeats after completion has no dates to show before it is completed.)
fn repeating_zone(task: &Task) -> Option<(&Task, Tz)> {
    let repeats = task.recurring_rule.is_some()
        && task.recurring_mode == RecurringMode::Schedule
        && task.status == TaskStatus::Pending
        && task.due_date.is_some();
    let tz = task.timezone.parse::<Tz>().ok()?;
    repeats.then_some((task, tz))
}

/// The RRULE value of a task's rule (a preset spelled out), with the series' end as UNTIL
/// when the rule has no end of its own.
fn rrule(task: &Task) -> Option<String> {
    let rule = task.recurring_rule.as_deref()?;
    let mut value = preset_rrule(rule).unwrap_or(rule).to_owned();
    let has_end = value
        .split(';')
        .any(|part| part.starts_with("UNTIL=") || part.starts_with("COUNT="));
    if let (Some(end), false) = (task.recurring_end_date, has_end) {
        value.push_str(&format!(";UNTIL={}", super::ics::utc(end)));
    }
    Some(value)
}

/// RFC 5545 §3.8.1.9: 1 is the highest, 9 the lowest, 5 the middle.
fn priority(priority: Priority) -> &'static str {
    match priority {
        Priority::High => "1",
        Priority::Medium => "5",
        Priority::Low => "9",
    }
}

fn uid(task: &Task) -> String {
    format!("{}@taskfleet", task.id)
}

/// The properties a VEVENT and a VTODO share.
fn common_properties(ics: &mut Ics, task: &Task) {
    ics.raw("UID", &uid(task));
    ics.utc("DTSTAMP", task.updated_at);
    ics.utc("CREATED", task.created_at);
    ics.utc("LAST-MODIFIED", task.updated_at);
    ics.text("SUMMARY", &task.title);
    if !task.description.is_empty() {
        ics.text("DESCRIPTION", &task.description);
    }
    if !task.tags.is_empty() {
        ics.text_list("CATEGORIES", &task.tags);
    }
    ics.raw("PRIORITY", priority(task.priority));
}

fn alarm(ics: &mut Ics, task: &Task, trigger: (&str, String)) {
    ics.begin("VALARM");
    ics.raw("ACTION", "DISPLAY");
    ics.text("DESCRIPTION", &task.title);
    ics.raw(trigger.0, &trigger.1);
    ics.end("VALARM");
}

fn event(ics: &mut Ics, task: &Task) {
    let Some(due) = task.due_date else {
        return;
    };
    ics.begin("VEVENT");
    common_properties(ics, task);
    match repeating_zone(task) {
        Some((_, tz)) => {
            ics.local("DTSTART", tz.name(), due.with_timezone(&tz).naive_local());
            if let Some(rule) = rrule(task) {
                ics.raw("RRULE", &rule);
            }
        }
        None => ics.utc("DTSTART", due),
    }
    // A due time is a moment, not a busy block.
    ics.raw("TRANSP", "TRANSPARENT");
    if let Some(reminder) = task.reminder_at {
        alarm(
            ics,
            task,
            ("TRIGGER", duration((reminder - due).num_seconds())),
        );
    }
    ics.end("VEVENT");
}

fn todo(ics: &mut Ics, task: &Task) {
    ics.begin("VTODO");
    common_properties(ics, task);
    if let Some(due) = task.due_date {
        ics.utc("DUE", due);
    }
    match (task.status, task.completed_at) {
        (TaskStatus::Completed, completed) => {
            ics.raw("STATUS", "COMPLETED");
            ics.utc("COMPLETED", completed.unwrap_or(task.updated_at));
            ics.raw("PERCENT-COMPLETE", "100");
        }
        (TaskStatus::Pending, _) => {
            ics.raw("STATUS", "NEEDS-ACTION");
            if let Some(reminder) = task.reminder_at {
                alarm(
                    ics,
                    task,
                    ("TRIGGER;VALUE=DATE-TIME", super::ics::utc(reminder)),
                );
            }
        }
    }
    ics.end("VTODO");
}

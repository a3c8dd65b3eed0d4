//! Reading a Todoist CSV export (a project's "Export as CSV", or the same format written by
//! hand): one row per task, section or note, with at least the `TYPE` and `CONTENT` columns.
//!
//! - `task` rows become tasks. `@label`s in `CONTENT` become tags, and so does the section the
//!   task is in. `PRIORITY` 1 (Todoist's p1, the highest) is high, 2 medium, 3 low; 4 is
//!   Todoist's "no priority", the default here (medium). `DATE` is Todoist's own date text
//!   ("tomorrow 5pm", "every monday"), read by the quick-add parser in the row's `TIMEZONE` (else
//!   the importer's zone); a date it cannot read fully is left out and reported.
//! - `note` rows (comments) are appended to the description of the task above them.
//! - `INDENT` (sub-tasks) is not kept: every task is imported at the top level.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::tasks::Priority;

use crate::quickadd;
use crate::tasks::CreateTaskRequest;

/// The most tasks one import creates.
pub const MAX_TASKS: usize = 2000;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_TAG: usize = 50;
const MAX_TAGS: usize = 20;

/// Something the user should know about one row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// A task read from the file, with its line.
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub task: CreateTaskRequest,
}

/// What a file holds: the tasks to create, in file order, and the notes about its rows.
#[derive(Debug, Default)]
pub struct Read {
    pub tasks: Vec<Row>,
    pub notes: Vec<Note>,
}

fn column(headers: &csv::StringRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| {
        h.trim_start_matches('\u{feff}')
            .trim()
            .eq_ignore_ascii_case(name)
    })
}

/// A tag from a label or section name: lower-case, spaces as dashes, at most 50 characters.
fn tag(name: &str) -> Option<String> {
    let tag: String = name
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .take(MAX_TAG)
        .collect();
    (!tag.is_empty()).then_some(tag)
}

fn truncate(text: &str, max: usize) -> (String, bool) {
    if text.chars().count() <= max {
        (text.to_owned(), false)
    } else {
        (text.chars().take(max).collect(), true)
    }
}

/// Reads `text`, a Todoist CSV export; dates are read at `now` in the row's zone or `zone`.
/// An error means the file is not such an export (or is too large) and nothing should be
/// imported.
pub fn read(text: &str, zone: (Tz, &str), now: DateTime<Utc>) -> Result<Read, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("not a CSV file: {e}"))?
        .clone();
    let (Some(kind_at), Some(content_at)) = (column(&headers, "TYPE"), column(&headers, "CONTENT"))
    else {
        return Err(
            "not a Todoist CSV export: the first line must name the TYPE and CONTENT columns"
                .to_owned(),
        );
    };
    let at = |name| column(&headers, name);
    let (description_at, priority_at, date_at, timezone_at) = (
        at("DESCRIPTION"),
        at("PRIORITY"),
        at("DATE"),
        at("TIMEZONE"),
    );
    let mut read = Read::default();
    let mut section: Option<String> = None;
    for record in reader.records() {
        let record = record.map_err(|e| format!("not a readable CSV file: {e}"))?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |index: Option<usize>| index.and_then(|i| record.get(i)).unwrap_or("").trim();
        let content = field(Some(content_at));
        match field(Some(kind_at)) {
            "" if content.is_empty() => {}
            "section" => section = tag(content),
            "note" => match read.tasks.last_mut() {
                Some(row) if !content.is_empty() => {
                    let description = row.task.description.get_or_insert_with(String::new);
                    if !description.is_empty() {
                        description.push_str("\n\n");
                    }
                    description.push_str(content);
                }
                Some(_) => {}
                None => read.notes.push(Note {
                    line,
                    message: "a note without a task above it was left out".to_owned(),
                }),
            },
            "task" => {
                if read.tasks.len() == MAX_TASKS {
                    return Err(format!("at most {MAX_TASKS} tasks can be imported at once"));
                }
                let mut notes = Vec::new();
                let task = task(
                    content,
                    section.as_deref(),
                    [
                        field(description_at),
                        field(priority_at),
                        field(date_at),
                        field(timezone_at),
                    ],
                    zone,
                    now,
                    &mut notes,
                );
                read.notes
                    .extend(notes.into_iter().map(|message| Note { line, message }));
                match task {
                    Some(task) => read.tasks.push(Row { line, task }),
                    None => read.notes.push(Note {
                        line,
                        message: "a task without a name was left out".to_owned(),
                    }),
                }
            }
            other => read.notes.push(Note {
                line,
                message: format!(
                    "a row of TYPE {other:?} was left out (task, section and note are read)"
                ),
            }),
        }
    }
    // Descriptions grow with notes: keep them within bounds.
    for row in &mut read.tasks {
        if let Some(description) = &mut row.task.description {
            let (kept, cut) = truncate(description, MAX_DESCRIPTION);
            if cut {
                *description = kept;
                read.notes.push(Note {
                    line: row.line,
                    message: format!("the description was cut to {MAX_DESCRIPTION} characters"),
                });
            }
        }
    }
    read.notes.sort_by_key(|n| n.line);
    Ok(read)
}

/// One `task` row; `None` when it has no name. `fields` are DESCRIPTION, PRIORITY, DATE and
/// TIMEZONE.
fn task(
    content: &str,
    section: Option<&str>,
    [description, priority, date, timezone]: [&str; 4],
    zone: (Tz, &str),
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
) -> Option<CreateTaskRequest> {
    let mut tags: Vec<String> = Vec::new();
    let mut words = Vec::new();
    for word in content.split_whitespace() {
        match word.strip_prefix('@').and_then(tag) {
            Some(label) => tags.push(label),
            None => words.push(word),
        }
    }
    tags.extend(section.map(str::to_owned));
    tags.dedup();
    if tags.len() > MAX_TAGS {
        notes.push(format!("only the first {MAX_TAGS} labels were kept"));
        tags.truncate(MAX_TAGS);
    }
    let (title, cut) = truncate(&words.join(" "), MAX_TITLE);
    if title.is_empty() {
        return None;
    }
    if cut {
        notes.push(format!("the name was cut to {MAX_TITLE} characters"));
    }
    let (tz, tz_name) = match timezone.parse::<Tz>() {
        Ok(tz) => (tz, timezone),
        Err(_) => zone,
    };
    let mut request = CreateTaskRequest {
        title,
        description: (!description.is_empty()).then(|| description.to_owned()),
        priority: match priority {
            "1" => Some(Priority::High),
            "2" => Some(Priority::Medium),
            "3" => Some(Priority::Low),
            _ => None,
        },
        tags: (!tags.is_empty()).then_some(tags),
        due_date: None,
        reminder_at: None,
        recurring_rule: None,
        recurring_mode: None,
        recurring_end_date: None,
        timezone: Some(tz_name.to_owned()),
    };
    if !date.is_empty() {
        let parsed = quickadd::parse(date, tz, now);
        let understood = parsed.title.is_empty()
            && parsed.tags.is_empty()
            && (parsed.due_date.is_some() || parsed.recurring_rule.is_some());
        if understood {
            request.due_date = parsed.due_date;
            request.recurring_rule = parsed.recurring_rule;
            request.recurring_mode = parsed.recurring_mode;
        } else {
            notes.push(format!(
                "the date {date:?} was not understood; the task has no due date"
            ));
        }
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    const BERLIN: (Tz, &str) = (chrono_tz::Europe::Berlin, "Europe/Berlin");

    #[test]
    fn tasks_sections_notes_labels_priorities_and_dates() {
        let file = "\u{feff}TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n\
            task,Pay rent @home @money,Landlord: Mr. X,1,1,Ann (1),,tomorrow 9am,en,Europe/Berlin\n\
            note,Bank transfer ref 42,,,,Ann (1),,,,\n\
            ,,,,,,,,,\n\
            section,Garden Work,,,,,,,,\n\
            task,Water the plants,,4,1,Ann (1),,every monday,en,\n\
            task,\"Sort seeds, big box\",,3,2,Ann (1),,someday maybe,en,Asia/Tokyo\n\
            note,orphan? no: belongs to seeds,,,,,,,,\n\
            task,@only-a-label,,,,,,,,\n\
            project,Something else,,,,,,,,\n";
        let read = read(file, BERLIN, now()).expect("read");
        let titles: Vec<&str> = read.tasks.iter().map(|r| r.task.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Pay rent", "Water the plants", "Sort seeds, big box"]
        );

        let rent = &read.tasks[0].task;
        assert_eq!(
            rent.tags.as_deref(),
            Some(&["home".to_owned(), "money".to_owned()][..])
        );
        assert_eq!(rent.priority, Some(Priority::High));
        assert_eq!(
            rent.description.as_deref(),
            Some("Landlord: Mr. X\n\nBank transfer ref 42")
        );
        // 09:00 tomorrow in Berlin (UTC+1 in December).
        assert_eq!(
            rent.due_date,
            Some(Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap())
        );
        assert_eq!(rent.timezone.as_deref(), Some("Europe/Berlin"));

        let plants = &read.tasks[1].task;
        assert_eq!(
            plants.tags.as_deref(),
            Some(&["garden-work".to_owned()][..])
        );
        assert_eq!(plants.priority, None, "p4 is Todoist's no priority");
        assert!(plants.recurring_rule.is_some() && plants.due_date.is_some());
        assert_eq!(
            plants.timezone.as_deref(),
            Some("Europe/Berlin"),
            "the importer's zone"
        );

        let seeds = &read.tasks[2].task;
        assert_eq!(seeds.priority, Some(Priority::Low));
        assert_eq!(seeds.due_date, None);
        assert_eq!(seeds.timezone.as_deref(), Some("Asia/Tokyo"));
        assert_eq!(
            seeds.description.as_deref(),
            Some("orphan? no: belongs to seeds")
        );

        let lines: Vec<(u64, &str)> = read
            .notes
            .iter()
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    7,
                    "the date \"someday maybe\" was not understood; the task has no due date"
                ),
                (9, "a task without a name was left out"),
                (
                    10,
                    "a row of TYPE \"project\" was left out (task, section and note are read)"
                ),
            ]
        );
    }

    #[test]
    fn a_file_that_is_no_todoist_export_is_refused() {
        assert!(read("title,due\nmilk,tomorrow\n", BERLIN, now()).is_err());
        assert!(read("", BERLIN, now()).is_err());
    }

    #[test]
    fn too_many_tasks_are_refused_whole() {
        let mut file = String::from("TYPE,CONTENT\n");
        for i in 0..=MAX_TASKS {
            file.push_str(&format!("task,Task {i}\n"));
        }
        assert!(
            read(&file, BERLIN, now())
                .expect_err("too many")
                .contains("at most")
        );
    }

    #[test]
    fn long_names_and_many_notes_are_cut_and_reported() {
        let long = "x".repeat(250);
        let note = "n".repeat(6000);
        let file = format!("TYPE,CONTENT\ntask,{long}\nnote,{note}\nnote,{note}\n");
        let read = read(&file, BERLIN, now()).expect("read");
        assert_eq!(read.tasks[0].task.title.chars().count(), MAX_TITLE);
        let description = read.tasks[0].task.description.as_deref().unwrap_or("");
        assert_eq!(description.chars().count(), MAX_DESCRIPTION);
        assert_eq!(read.notes.len(), 2, "{:?}", read.notes);
    }
}

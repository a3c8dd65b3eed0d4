//! Reminders: the atomic claim that turns due reminders into notifications and `reminder-due`
//! events ([`claim`]), and the loop that runs it at the exact due time ([`scheduler`]).
//!
//! The `tasks` table is the only source of truth: a reminder is due when a pending task's
//! `reminder_at` has passed and it has not fired yet for that `(task_id, reminder_at)`
//! (`fired_reminders`, kept apart from the notification the user may delete).
//! Editing `reminder_at` therefore moves the reminder (a new pair), and completing or deleting
//! the task cancels it (the claim only takes pending tasks that exist) — there is no separate
//! schedule to keep in sync.

pub mod claim;
pub mod scheduler;

pub use claim::{
    ClaimSettings, FiredReminder, claim_due_reminders, forget_fired_reminders, next_reminder_at,
};
pub use scheduler::{Postgres, ReminderStore, SchedulerSettings, run_scheduler};

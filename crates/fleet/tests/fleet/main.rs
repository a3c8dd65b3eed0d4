//! fleet end to end: the dev sidecar and all five services in one process against a fresh
//! database, driven over real HTTP, as the user stories of docs/contract.md §6 describe.
#![allow(clippy::unwrap_used)]

mod attacks;
mod faults;
mod helpers;
mod smoke;
mod topics;
mod us1_realtime;
mod us2_recurring;
mod us3_reminders;
mod us4_audit;
mod us6_assistant;
mod us7_trash;

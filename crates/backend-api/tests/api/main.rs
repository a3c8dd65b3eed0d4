//! backend-api integration tests: the real service on a real port against a fresh Postgres
//! database per test, with the dev sidecar where events must flow.
#![allow(clippy::unwrap_used)]

mod account;
mod assistant;
mod assistant_limits;
mod assistant_provider;
mod assistant_scripted;
mod auth;
mod calendar;
mod concurrency;
mod creates;
mod erased;
mod helpers;
mod mcp;
mod outbox;
mod parse;
mod snooze;
mod tasks;
mod transfer;
mod trash;
mod validation;
mod views;

//! HTTP routes: the user-facing notifications API and the internal cron binding route.

pub mod cron;
pub mod notifications;

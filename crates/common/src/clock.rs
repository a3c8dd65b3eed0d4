//! "Now", injectable: the services read the time through a [`Clock`] so tests can fix it (a
//! quick-add phrase read on a known Thursday) or drive it with tokio's paused time (the
//! reminder loop's tests). Production uses [`system_clock`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

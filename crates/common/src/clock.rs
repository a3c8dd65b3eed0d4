//! "Now", injectable: the services read the time through a [`Clock`] so tests can fix it (a
//! quick-add phrase read on a known Thursday) or drive it with tokio's paused time (the
//! reminder loop). Production uses [`system_clock`].

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock that starts at `start` and advances with tokio's clock, so under
/// `tokio::time::pause` it moves only when the test advances time (or the runtime auto-advances
/// to the next timer).
pub fn tokio_clock(start: DateTime<Utc>) -> Clock {
    let origin = tokio::time::Instant::now();
    Arc::new(move || {
        let elapsed = tokio::time::Instant::now() - origin;
        start + chrono::TimeDelta::from_std(elapsed).unwrap_or(chrono::TimeDelta::MAX)
    })
}

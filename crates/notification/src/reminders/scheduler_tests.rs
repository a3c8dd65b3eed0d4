//! The loop's timing in tokio's paused time: a fake store stands in for Postgres (whose
//! sockets cannot take part in paused time) and the clock advances with tokio's, so every
//! assertion is about exact virtual instants and pass counts, with no real waiting. The claim
//! itself, against real Postgres, is tested in `tests/api/scheduler.rs` and `tests/api/cron.rs`.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::CancellationToken;
use common::clock::Clock;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{ReminderStore, SchedulerSettings, run_scheduler};

/// What the fake store's listeners hear.
#[derive(Debug, Clone, Copy)]
enum Signal {
    /// A planned reminder (the NOTIFY of the trigger on `tasks`).
    Write,
    /// The connection behind the listener died.
    Lost,
}

#[derive(Default)]
struct Inner {
    pending: Mutex<Vec<DateTime<Utc>>>,
    /// (reminder time, the clock when the claim fired it).
    fired: Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
    passes: AtomicUsize,
    listens: AtomicUsize,
    failing: AtomicBool,
    signals: Mutex<Option<broadcast::Sender<Signal>>>,
}

/// Reminders in memory, claimed by the same rule as the SQL: due when `reminder_at <= now`.
#[derive(Clone, Default)]
struct Fake(Arc<Inner>);

impl Fake {
    fn sender(&self) -> broadcast::Sender<Signal> {
        self.0
            .signals
            .lock()
            .unwrap()
            .get_or_insert_with(|| broadcast::channel(1024).0)
            .clone()
    }

    /// Adds a reminder; with `notify`, tells the listeners as a committed write would.
    fn add(&self, at: DateTime<Utc>, notify: bool) {
        self.0.pending.lock().unwrap().push(at);
        if notify {
            self.signal(Signal::Write);
        }
    }

    fn signal(&self, signal: Signal) {
        let _ = self.sender().send(signal);
    }

    fn fired(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.0.fired.lock().unwrap().clone()
    }

    fn passes(&self) -> usize {
        self.0.passes.load(Ordering::SeqCst)
    }
}

impl ReminderStore for Fake {
    type Listener = broadcast::Receiver<Signal>;

    async fn claim_due(&self, now: DateTime<Utc>) -> sqlx::Result<()> {
        self.0.passes.fetch_add(1, Ordering::SeqCst);
        if self.0.failing.load(Ordering::SeqCst) {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let mut pending = self.0.pending.lock().unwrap();
        let mut fired = self.0.fired.lock().unwrap();
        pending.retain(|at| {
            let due = *at <= now;
            if due {
                fired.push((*at, now));
            }
            !due
        });
        Ok(())
    }

    async fn next_at(&self, now: DateTime<Utc>) -> sqlx::Result<Option<DateTime<Utc>>> {
        if self.0.failing.load(Ordering::SeqCst) {
            return Err(sqlx::Error::PoolTimedOut);
        }
        let pending = self.0.pending.lock().unwrap();
        Ok(pending.iter().filter(|at| **at > now).min().copied())
    }

    async fn listen(&self) -> Option<Self::Listener> {
        self.0.listens.fetch_add(1, Ordering::SeqCst);
        Some(self.sender().subscribe())
    }

    async fn changed(listener: &mut Self::Listener) -> sqlx::Result<()> {
        match listener.recv().await {
            Ok(Signal::Write) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
            Ok(Signal::Lost) | Err(broadcast::error::RecvError::Closed) => {
                Err(sqlx::Error::PoolClosed)
            }
        }
    }
}

/// A clock that starts at `start` and advances with tokio's, so in paused time it moves only
/// as the test's virtual time does.
fn tokio_clock(start: DateTime<Utc>) -> Clock {
    let origin = tokio::time::Instant::now();
    Arc::new(move || start + TimeDelta::from_std(origin.elapsed()).unwrap())
}

fn start() -> DateTime<Utc> {
    "2026-12-01T09:00:00Z".parse().unwrap()
}

/// The instant `seconds` after the start, on the scheduler's clock.
fn at(seconds: f64) -> DateTime<Utc> {
    start() + TimeDelta::from_std(Duration::from_secs_f64(seconds)).unwrap()
}

/// Runs the loop on `store` from [`start`], with tokio's clock.
fn spawn(store: &Fake, settings: SchedulerSettings) -> (JoinHandle<()>, CancellationToken) {
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(run_scheduler(
        store.clone(),
        tokio_clock(start()),
        settings,
        shutdown.clone(),
    ));
    (handle, shutdown)
}

fn hourly_poll() -> SchedulerSettings {
    SchedulerSettings {
        poll_interval: Duration::from_secs(3600),
        ..SchedulerSettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_reminder_an_hour_ahead_fires_at_its_exact_instant_not_at_a_poll_boundary() {
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    store.add(at(3600.25), false);
    let (_loop, _stop) = spawn(&store, SchedulerSettings::default());
    tokio::time::sleep_until(origin + Duration::from_secs(3602)).await;
    assert_eq!(store.fired(), vec![(at(3600.25), at(3600.25))]);
    // Polled once a second meanwhile, plus the pass that fired it: the poll's cost, bounded.
    let passes = store.passes();
    assert!((3601..=3604).contains(&passes), "{passes} passes");
}

#[tokio::test(start_paused = true)]
async fn a_written_reminder_wakes_the_sleeping_loop_at_once_while_an_untold_one_waits_for_the_poll()
{
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    let (_loop, _stop) = spawn(&store, hourly_poll());
    tokio::time::sleep_until(origin + Duration::from_secs(10)).await;
    // Told (NOTIFY): the loop wakes now, learns of 15 s and sleeps exactly until then.
    store.add(at(15.0), true);
    tokio::time::sleep_until(origin + Duration::from_secs(16)).await;
    assert_eq!(store.fired(), vec![(at(15.0), at(15.0))]);
    // Not told (a lost NOTIFY) while the loop sleeps its hour: nothing wakes it before the
    // poll, which comes an hour after the last pass (at 15 s).
    store.add(at(20.0), false);
    tokio::time::sleep_until(origin + Duration::from_secs(3614)).await;
    assert_eq!(store.fired().len(), 1);
    tokio::time::sleep_until(origin + Duration::from_secs(3616)).await;
    assert_eq!(
        store.fired(),
        vec![(at(15.0), at(15.0)), (at(20.0), at(3615.0))],
        "the poll is what catches a reminder nobody was told about"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reminder_written_without_a_notify_is_at_most_one_poll_late() {
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    let (_loop, _stop) = spawn(&store, SchedulerSettings::default());
    tokio::time::sleep_until(origin + Duration::from_millis(10_500)).await;
    store.add(at(10.6), false);
    tokio::time::sleep_until(origin + Duration::from_secs(12)).await;
    assert_eq!(store.fired(), vec![(at(10.6), at(11.0))]);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_writes_costs_one_pass_per_min_gap_not_one_per_write() {
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    let (_loop, _stop) = spawn(&store, hourly_poll());
    tokio::time::sleep_until(origin + Duration::from_secs(1)).await;
    let before = store.passes();
    // A thousand writes in one second.
    for _ in 0..1000 {
        store.signal(Signal::Write);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let passes = store.passes() - before;
    // min_gap is 50 ms: about 20 passes for the second of writes, never one per write.
    assert!(
        (15..=23).contains(&passes),
        "{passes} passes for 1000 writes"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_database_is_retried_after_the_backoff_and_what_became_due_fires_on_recovery() {
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    store.0.failing.store(true, Ordering::SeqCst);
    store.add(at(2.0), false);
    let (_loop, _stop) = spawn(&store, hourly_poll());
    tokio::time::sleep_until(origin + Duration::from_millis(9_500)).await;
    // One pass a second (error_backoff), not a hot loop and not the hourly poll.
    assert_eq!(store.passes(), 10);
    assert!(store.fired().is_empty());
    store.0.failing.store(false, Ordering::SeqCst);
    tokio::time::sleep_until(origin + Duration::from_millis(10_500)).await;
    assert_eq!(store.fired(), vec![(at(2.0), at(10.0))]);
}

#[tokio::test(start_paused = true)]
async fn a_lost_listener_wakes_the_loop_and_is_replaced_by_a_working_one() {
    let origin = tokio::time::Instant::now();
    let store = Fake::default();
    let (_loop, _stop) = spawn(&store, hourly_poll());
    tokio::time::sleep_until(origin + Duration::from_secs(5)).await;
    assert_eq!(store.0.listens.load(Ordering::SeqCst), 1);
    let before = store.passes();
    store.signal(Signal::Lost);
    tokio::time::sleep_until(origin + Duration::from_secs(6)).await;
    // The loss counted as a write (a pass at once) and the next pass listened again.
    assert_eq!(store.passes(), before + 1);
    assert_eq!(store.0.listens.load(Ordering::SeqCst), 2);
    store.add(at(7.0), true);
    tokio::time::sleep_until(origin + Duration::from_secs(8)).await;
    assert_eq!(store.fired(), vec![(at(7.0), at(7.0))]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_loop_while_it_sleeps() {
    let store = Fake::default();
    let (handle, stop) = spawn(&store, hourly_poll());
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_millis(1), handle)
        .await
        .expect("the loop ended at once")
        .unwrap();
}

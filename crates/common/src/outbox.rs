//! The transactional outbox (docs/contract.md §6 "No lost events"). A writer calls [`enqueue`]
//! inside the transaction that changes a task, so the change and its event commit or vanish
//! together. The [`OutboxRelay`] publishes committed rows through the sidecar and deletes them
//! once published:
//!
//! * **it wakes at once when a write of its own process commits** ([`commit`] commits the
//!   writer's transaction and wakes the process's relays) and polls every
//!   [`RelaySettings::poll_interval`] for what other processes wrote and did not publish (their
//!   relay, or sidecar, being down): a write that forgets to wake only waits for the poll.
//!   Writers do not `NOTIFY`: a notifying commit takes Postgres's database-wide notify lock and
//!   holds it across its WAL flush, so every write committed one after another, with no group
//!   commit (the largest wait under load, measured in docs/benchmarks.md). Only a write that
//!   plans a reminder notifies, for the reminder loop (a trigger on `tasks`);
//! * **a user's events go out in commit order, one relay at a time**: a pass takes a session
//!   lock per partition key (user) whose oldest pending row is due (`pg_try_advisory_lock`:
//!   never waits, so relays never block or deadlock on each other), then reads each locked
//!   user's oldest rows and publishes them in id order, stopping at the user's first failure. A
//!   later row of a user is therefore never published while an earlier one is pending,
//!   whichever of the relays (backend-api, recurring and notification each run one, on every
//!   replica) looks. Different users are published together: a pass goes in rounds (at most
//!   [`RelaySettings::run_length`]), each round sending the next row of every user it holds as
//!   one bulk publish per topic (docs/dapr-behaviour.md §1.5) — at most one row per user in a
//!   request, since daprd keeps no order inside one — and a request refused as a whole is sent
//!   again row by row, so that a bad row holds back only its own user;
//! * **an event waits for a round, not for a pass**: between two rounds one statement deletes
//!   what the last round published and locks users whose rows came in meanwhile, and a second
//!   reads the newly committed rows of every user the pass holds whose rows all went out. Under
//!   a steady load a pass keeps its users for up to `run_length` rounds and an event goes out in
//!   the round after its commit, where waiting for the pass under way to end (a round per row
//!   of its busiest user) was most of an event's way out under load (docs/benchmarks.md, "issue
//!   14, fifth pass"). A user whose row failed waits for a later pass;
//! * **no transaction spans a publish**, and the claim writes nothing: the locks live in the
//!   relay's session, not in rows. A relay that dies mid-way loses its session and with it its
//!   locks, at once; its users' rows are then published again with the same CloudEvent id
//!   (at-least-once; consumers deduplicate on it);
//! * **a published row is deleted**, by the statement that also locks the next round's users:
//!   an event costs the outbox one insert and one delete, where leasing and marking it rewrote
//!   the whole row twice (the largest share of the database's time under load, measured in
//!   docs/benchmarks.md). What was published is kept where it belongs: in the broker and in
//!   the audit trail;
//! * **a refusal holds back only its own user**: a row the broker rejects for now (5xx) is
//!   retried with a backoff of its own (`next_attempt_at`) while other users' rows flow; a row
//!   the sidecar refuses for good (4xx: unknown component, scoping, size) is **parked** after
//!   [`RelaySettings::park_after`] attempts, with its reason, so the user's later events flow —
//!   an operator lists, replays or discards parked rows (`backend-api outbox ...`);
//! * while the sidecar itself is unreachable nothing is counted against the rows and the relay
//!   backs off as a whole;
//! * **the relay's bookkeeping commits without waiting for the disk** (`synchronous_commit =
//!   off` on the relay's own connections): a delete or a reschedule lost in a database crash
//!   only means the row is published again, which at-least-once delivery and the consumers'
//!   deduplication already cover. The writes that must survive (the task and its outbox row)
//!   still commit synchronously, in the writer's transaction.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use futures::future::join_all;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::dapr::{BulkCloudEvent, DaprClient, DaprError};
use crate::db::{KeptConnection, TakenConnection};
use crate::events::{CloudEvent, PUBSUB, TaskEvent, UserDeleted};

/// An event to write to the outbox, built before the statement that writes it: a write can
/// then store its change and its event in one statement ([`crate::tasks::insert_task`]).
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The CloudEvent id.
    pub event_id: Uuid,
    /// The pub/sub component it goes to.
    pub pubsub: &'static str,
    /// Its topic.
    pub topic: &'static str,
    /// The user whose events stay in order.
    pub partition_key: String,
    /// The CloudEvent as published.
    pub envelope: Value,
}

impl OutboxEntry {
    /// `event` as the CloudEvent `source` publishes.
    pub fn task_event(
        source: &str,
        event: TaskEvent,
        traceparent: Option<String>,
    ) -> sqlx::Result<Self> {
        let topic = event.event_type.topic();
        let partition_key = event.user_id.clone();
        let event_id = event.event_id;
        let envelope = CloudEvent::for_task_event(source, event, traceparent);
        Ok(Self {
            event_id,
            pubsub: PUBSUB,
            topic,
            partition_key,
            envelope: serde_json::to_value(&envelope)
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
        })
    }

    /// Writes the entry, in the caller's transaction; commit that with [`commit`].
    pub async fn write(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        enqueue_envelope(
            conn,
            self.event_id,
            self.pubsub,
            self.topic,
            &self.partition_key,
            &self.envelope,
        )
        .await
    }
}

/// Writes `event` to the outbox as the CloudEvent `source` will publish, in the caller's
/// transaction; commit that with [`commit`].
#[tracing::instrument(skip_all, fields(event_id = %event.event_id, topic = event.event_type.topic()))]
pub async fn enqueue(
    conn: &mut PgConnection,
    source: &str,
    event: TaskEvent,
    traceparent: Option<String>,
) -> sqlx::Result<()> {
    OutboxEntry::task_event(source, event, traceparent)?
        .write(conn)
        .await
}

/// Writes a `user-deleted` event to the outbox, in the caller's transaction (the one that
/// erases the user's rows).
pub async fn enqueue_user_deleted(
    conn: &mut PgConnection,
    source: &str,
    event: UserDeleted,
    traceparent: Option<String>,
) -> sqlx::Result<()> {
    let (event_id, partition_key) = (event.event_id, event.user_id.clone());
    let envelope = CloudEvent::for_user_deleted(source, event, traceparent);
    let envelope = serde_json::to_value(&envelope).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    enqueue_envelope(
        conn,
        event_id,
        PUBSUB,
        crate::events::topics::USER_DELETED,
        &partition_key,
        &envelope,
    )
    .await
}

/// Writes an already-built CloudEvent to the outbox (for events other than task events).
pub async fn enqueue_envelope(
    conn: &mut PgConnection,
    event_id: Uuid,
    pubsub: &str,
    topic: &str,
    partition_key: &str,
    envelope: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event_id)
    .bind(pubsub)
    .bind(topic)
    .bind(partition_key)
    .bind(envelope)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Commits a transaction that [`enqueue`]d events and wakes this process's relays, which
/// publish them at once.
pub async fn commit(tx: Transaction<'_, Postgres>) -> sqlx::Result<()> {
    tx.commit().await?;
    committed();
    Ok(())
}

/// Wakes this process's relays after a statement that wrote to the outbox outside a
/// transaction (it committed on its own) — what [`commit`] does after committing.
pub fn committed() {
    COMMITS.send_modify(|commits| *commits = commits.wrapping_add(1));
}

/// Counts the commits of enqueued events in this process; every relay of the process watches
/// it (a `watch` rather than a `Notify`: each relay sees a commit made while it was busy as
/// soon as it looks again, and one look answers any number of commits).
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Users a pass holds at most.
    pub batch_size: i64,
    /// How often the relay looks without being woken: for rows other processes wrote and did
    /// not publish, and rows put back by an operator.
    pub poll_interval: Duration,
    /// First retry delay after a failed publish; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Rounds of a pass, and so the rows of one user a pass publishes at most; a pass ends
    /// sooner once nothing it holds is left to publish.
    pub run_length: i64,
    /// Rows a pass holds read and not yet published, in all (the oldest users' runs first; a
    /// run cut short is still a prefix): bounds the memory of a pass when a backlog builds up.
    pub max_rows: i64,
    /// Attempts after which a row the sidecar refuses for good is parked.
    pub park_after: i32,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            run_length: 50,
            max_rows: 1_000,
            park_after: 5,
        }
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    pubsub: String,
    topic: String,
    partition_key: String,
    /// The CloudEvent as stored, sent as is (never parsed here).
    envelope: String,
    traceparent: Option<String>,
    attempts: i32,
    /// Whether the row may be tried now (it matters for a user's first row).
    due: bool,
}

/// The advisory-lock class of the relay's per-user locks: `(USER_LOCK_CLASS,
/// hashtext(user))` in the two-key space (the reminder claim holds `(0x7466_6c74, 1)`).
const USER_LOCK_CLASS: i32 = 0x7466_6f62;

/// Deletes the rows `$4` the pass published (they went out in its last round) and takes the
/// session lock of up to `$1` more users whose oldest pending row is due, leaving out the users
/// `$3` the pass already holds, oldest heads first; returns the users it got. One statement for
/// both: the deleted rows are all of users the pass holds, whom the lock leaves out anyway.
/// `pg_try_advisory_lock` never waits, so two relays never block or deadlock on each other:
/// each simply skips the users the other holds. The candidate heads are materialised first so
/// the lock is tried exactly once per candidate (a filter under a `LIMIT` may be evaluated on
/// rows the query then drops, taking locks nobody releases).
///
/// The heads come from one read of every pending row, in the pending-rows index's order: the
/// cheapest way while users have a row or two waiting, as they do while the relay keeps up.
/// Behind a backlog it costs the whole backlog, every round; then the relay uses
/// [`LOCK_USERS_SKIPPING_SQL`].
pub const LOCK_USERS_SQL: &str = "\
WITH published AS (
    DELETE FROM outbox WHERE id = ANY($4)
), heads AS (
    SELECT DISTINCT ON (partition_key) partition_key, id, next_attempt_at
    FROM outbox
    WHERE parked_at IS NULL AND partition_key <> ALL($3)
    ORDER BY partition_key, id
), ready AS MATERIALIZED (
    SELECT partition_key, id FROM heads
    WHERE next_attempt_at IS NULL OR next_attempt_at <= now()
    ORDER BY id
    LIMIT $1
)
SELECT partition_key FROM ready
WHERE pg_try_advisory_lock($2, hashtext(partition_key))
ORDER BY id";

/// [`LOCK_USERS_SQL`] for a relay behind a backlog: the heads are found by skipping through the
/// pending-rows index user by user (`heads`: each step reads the first entry after the last
/// user's key, which is the next user's oldest row), so a statement reads one entry per user
/// with pending rows, however many rows each has. 200 000 rows of 100 users: 204 ms a statement
/// by [`LOCK_USERS_SQL`], 1–2 ms by this one (docs/benchmarks.md, "thirteenth pass"). A step
/// costs several times what reading one entry does, so with a row or two per user the read of
/// every row is cheaper (100 users with a row each: 0.06 ms against 0.27 ms; 10 000: 4.5 ms
/// against 33 ms), and the relay keeps to that one until it finds itself behind (the field
/// `OutboxRelay::behind` says when).
pub const LOCK_USERS_SKIPPING_SQL: &str = "\
WITH RECURSIVE published AS (
    DELETE FROM outbox WHERE id = ANY($4)
), heads AS (
    (SELECT partition_key, id, next_attempt_at FROM outbox
     WHERE parked_at IS NULL
     ORDER BY partition_key, id
     LIMIT 1)
    UNION ALL
    SELECT next.partition_key, next.id, next.next_attempt_at
    FROM heads
    CROSS JOIN LATERAL (
        SELECT o.partition_key, o.id, o.next_attempt_at FROM outbox o
        WHERE o.parked_at IS NULL AND o.partition_key > heads.partition_key
        ORDER BY o.partition_key, o.id
        LIMIT 1
    ) next
), ready AS MATERIALIZED (
    SELECT partition_key, id FROM heads
    WHERE partition_key <> ALL($3)
      AND (next_attempt_at IS NULL OR next_attempt_at <= now())
    ORDER BY id
    LIMIT $1
)
SELECT partition_key FROM ready
WHERE pg_try_advisory_lock($2, hashtext(partition_key))
ORDER BY id";

/// The pending rows of users the pass holds: up to `$2` per user in id order, at most `$3` in
/// all, the users in the order given (a run cut short is still a prefix). Read in a statement
/// of its own, after the locks and the delete of what the pass published: its snapshot then
/// holds everything a relay that had the user before published (deleted) or rescheduled, and
/// none of the rows this pass already published. `due` tells whether the user's head may be
/// tried now (another relay may have rescheduled it meanwhile).
pub const USER_RUNS_SQL: &str = "\
SELECT o.id, o.pubsub, o.topic, o.partition_key, o.envelope::text AS envelope,
       o.envelope->>'traceparent' AS traceparent, o.attempts,
       (o.next_attempt_at IS NULL OR o.next_attempt_at <= now()) AS due
FROM unnest($1::text[]) WITH ORDINALITY AS users(partition_key, n)
CROSS JOIN LATERAL (
    SELECT r.* FROM outbox r
    WHERE r.partition_key = users.partition_key AND r.parked_at IS NULL
    ORDER BY r.id
    LIMIT $2
) o
ORDER BY users.n, o.id
LIMIT $3";

/// Deletes the rows `$1` the last round of a pass published, before the pass lets its users go.
pub const DELETE_PUBLISHED_SQL: &str = "DELETE FROM outbox WHERE id = ANY($1)";

/// Records a failed attempt at row `$1`: its attempts `$2`, the sidecar's answer `$3`, when it
/// may be tried again (`$4` seconds from now), and whether it is parked (`$5`).
pub const RESCHEDULE_SQL: &str = "\
UPDATE outbox SET attempts = $2, last_error = $3,
    next_attempt_at = now() + make_interval(secs => $4),
    parked_at = CASE WHEN $5 THEN now() END
WHERE id = $1";

/// Every statement a relay's pass sends on the outbox, for [`OutboxRelay::session_options`]'s
/// test: none may read the outbox by a sequential scan.
pub const PASS_STATEMENTS: [&str; 5] = [
    LOCK_USERS_SQL,
    LOCK_USERS_SKIPPING_SQL,
    USER_RUNS_SQL,
    DELETE_PUBLISHED_SQL,
    RESCHEDULE_SQL,
];

/// A user whose lock the pass holds.
struct HeldUser {
    user: String,
    /// Rows read and not yet published, in id order.
    rows: VecDeque<OutboxRow>,
    /// A row of theirs failed, or their head was not due: they wait for a later pass.
    stopped: bool,
}

/// A parked outbox row, for operators.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ParkedRow {
    /// The row id (what `replay`/`discard` take).
    pub id: i64,
    /// The CloudEvent id.
    pub event_id: Uuid,
    pub topic: String,
    /// The user.
    pub partition_key: String,
    pub attempts: i32,
    /// The sidecar's last answer.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub parked_at: DateTime<Utc>,
}

/// What one pass of the relay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows read to publish (of the users locked).
    pub claimed: usize,
    /// The most rows the pass held read and not yet published at once (at most
    /// [`RelaySettings::max_rows`]).
    pub most_held: usize,
    /// Rows published and marked.
    pub published: usize,
    /// Rows parked in this pass.
    pub parked: usize,
    /// The sidecar could not be reached at all.
    pub sidecar_unreachable: bool,
}

impl BatchOutcome {
    /// Counts the rows a statement of the pass just deleted as published, and forgets them.
    fn deleted(&mut self, published: &mut Vec<i64>) {
        self.published += published.len();
        metrics::counter!("outbox_published_total").increment(published.len() as u64);
        published.clear();
    }
}

/// Publishes committed outbox rows through the Dapr sidecar.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    /// The relay's own connection (lazy, from a pool of at most [`RELAY_CONNECTIONS`]) to the
    /// database of the pool it was given, with `synchronous_commit = off` (see the module
    /// docs), kept from one pass to the next (no ping of it in between).
    conn: Arc<tokio::sync::Mutex<KeptConnection>>,
    dapr: DaprClient,
    settings: RelaySettings,
    /// Whether the relay is behind a backlog: the first read of its last pass found a user with
    /// as many rows waiting as a pass publishes (`run_length`) or was cut at `max_rows`, or its
    /// read of every pending row took [`SLOW_LOCK`]. It then finds the users to lock by
    /// [`LOCK_USERS_SKIPPING_SQL`], which costs one index entry a user, not one a row, until a
    /// first read finds only a few rows a user.
    behind: Arc<AtomicBool>,
}

/// A read of every pending row ([`LOCK_USERS_SQL`]) this slow means a backlog (some 20 000 rows
/// on the benchmark's machine): the relay skips instead.
const SLOW_LOCK: Duration = Duration::from_millis(10);

/// The settings of the relay's sessions ([`OutboxRelay::session_options`] says why).
const RELAY_SESSION: [(&str, &str); 3] = [
    ("synchronous_commit", "off"),
    ("enable_seqscan", "off"),
    ("enable_bitmapscan", "off"),
];

/// Connections of a relay's own pool: its passes run one after another on one.
pub const RELAY_CONNECTIONS: u32 = 1;

impl OutboxRelay {
    /// A relay over the database of `pool` publishing through `dapr`.
    pub fn new(pool: PgPool, dapr: DaprClient, settings: RelaySettings) -> Self {
        let pool = crate::db::session_pool(&pool, RELAY_CONNECTIONS, &RELAY_SESSION);
        Self {
            conn: Arc::new(tokio::sync::Mutex::new(KeptConnection::new(pool))),
            dapr,
            settings,
            behind: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The options of the relay's own sessions on the database of `pool`: the relay's
    /// bookkeeping commits without waiting for the disk (see the module docs), and its
    /// statements read the outbox by index only.
    ///
    /// The outbox is a queue: its heap is mostly rows already deleted, until a vacuum, and its
    /// size when the relay plans a statement says nothing of its size later. Each statement is
    /// prepared once per session, and after five executions Postgres keeps a generic plan, made
    /// for the table as it was then. Planned on a small outbox, the delete of what a round
    /// published (`id = ANY($4)`) scanned the whole heap: 288 pages of mostly deleted rows
    /// read to delete about ten, on every round. Measured under the benchmark's writes
    /// (docs/benchmarks.md, "seventh pass"): the statement cost 1.8–2.0 ms, half as much as all
    /// the creates together. No sequential scan, then: every statement here has an index that
    /// answers it.
    ///
    /// No bitmap scans either. An index scan marks the entries of rows already published as
    /// dead as it passes them (btree's kill_prior_tuple), so the next pass skips them. A bitmap
    /// scan never does, and the pending-rows index fills with dead entries between two
    /// autovacuums (a minute or more) that every pass then reads again. Measured on a
    /// 13 000-row run: the pending heads took 0.74 ms a pass by bitmap scan, 0.13 ms by index
    /// scan.
    pub fn session_options(pool: &PgPool) -> sqlx::postgres::PgConnectOptions {
        crate::db::session_options(pool, &RELAY_SESSION)
    }

    /// Whether the relay is behind a backlog (see the field).
    pub fn behind(&self) -> bool {
        self.behind.load(Ordering::Relaxed)
    }

    fn set_behind(&self, behind: bool) {
        if self.behind.swap(behind, Ordering::Relaxed) != behind {
            tracing::debug!(behind, "outbox relay: finding users by skipping: {behind}");
        }
    }

    /// Waits until the sidecar's outbound side answers (docs/dapr-behaviour.md §8.2: the
    /// service serves meanwhile, and its events wait in the outbox), then [`Self::run`]s.
    pub async fn run_when_sidecar_ready(self, shutdown: CancellationToken) {
        let ready = async {
            while let Err(error) = self.dapr.wait_for_outbound(Duration::from_secs(30)).await {
                tracing::warn!(%error, "sidecar not ready yet; events stay in the outbox");
            }
        };
        tokio::select! {
            () = ready => self.run(shutdown).await,
            () = shutdown.cancelled() => {}
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut commits = COMMITS.subscribe();
        let mut backoff = self.settings.initial_backoff;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            // Every commit this process made so far is visible to the pass about to start: one
            // pass answers them all (a burst of N commits costs one pass, not N).
            commits.borrow_and_update();
            match self.publish_batch().await {
                Ok(outcome) if outcome.sidecar_unreachable => {
                    // Nothing can go out until the sidecar answers: wait as a whole.
                    self.sleep_or_cancel(backoff, &shutdown).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    continue;
                }
                Ok(outcome) => {
                    backoff = self.settings.initial_backoff;
                    // Rows that failed are scheduled on their own; a row published or parked
                    // means there may be more right away (a parked row frees its user's next).
                    if outcome.published > 0 || outcome.parked > 0 {
                        continue;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay pass failed");
                    self.sleep_or_cancel(backoff, &shutdown).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    continue;
                }
            }
            // Woken by a commit of this process, or the poll; `changed` fails only if the
            // sender were dropped, which a static never is.
            tokio::select! {
                _ = commits.changed() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }

    async fn sleep_or_cancel(&self, delay: Duration, shutdown: &CancellationToken) {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => {}
        }
    }

    /// One pass (see the module docs): rounds of locking the users whose oldest row is due
    /// (and deleting what the last round published), reading the rows that came in of the
    /// users held, and publishing the next row of each outside any transaction; a failed row is
    /// rescheduled (or parked) and its user stops. Ends when nothing it holds is left to
    /// publish or after `run_length` rounds, deletes what went out and releases the locks.
    #[tracing::instrument(skip_all, fields(claimed, published))]
    pub async fn publish_batch(&self) -> sqlx::Result<BatchOutcome> {
        // The user locks belong to this connection's session: every statement of the pass runs
        // on it and the locks are released on it. A pass that fails to release them, or is
        // cancelled mid-way, closes the connection instead, which releases them too.
        let mut kept = self.conn.lock().await;
        let mut session = LockSession(Some(kept.take().await?));
        let conn = session.0.as_mut().expect("taken only by release");
        let outcome = self.pass(conn).await;
        match sqlx::query("SELECT pg_advisory_unlock_all()")
            .execute(&mut **conn)
            .await
        {
            Ok(_) => session.release(&mut kept),
            Err(error) => {
                tracing::warn!(%error, "outbox relay could not release its locks; closing its connection");
            }
        }
        outcome
    }

    async fn pass(&self, conn: &mut PgConnection) -> sqlx::Result<BatchOutcome> {
        let rounds = self.settings.run_length.max(1);
        let max_rows = self.settings.max_rows.max(1);
        let mut outcome = BatchOutcome::default();
        let mut held: Vec<HeldUser> = Vec::new();
        // Rows published in the last round, deleted by the next statement.
        let mut published: Vec<i64> = Vec::new();
        for round in 0..rounds {
            let holding: Vec<&str> = held.iter().map(|h| h.user.as_str()).collect();
            let room = (self.settings.batch_size - held.len() as i64).max(0);
            let skipping = self.behind.load(Ordering::Relaxed);
            let lock_users = if skipping {
                LOCK_USERS_SKIPPING_SQL
            } else {
                LOCK_USERS_SQL
            };
            let started = std::time::Instant::now();
            let locked: Vec<String> = sqlx::query_scalar(lock_users)
                .bind(room)
                .bind(USER_LOCK_CLASS)
                .bind(&holding)
                .bind(&published)
                .fetch_all(&mut *conn)
                .await?;
            outcome.deleted(&mut published);
            // Reading every pending row took long: there are many, whoever holds them (the
            // users may all be another relay's, or waiting for a retry).
            let slow_read = round == 0 && !skipping && started.elapsed() >= SLOW_LOCK;
            if slow_read {
                self.set_behind(true);
            }
            held.extend(locked.into_iter().map(|user| HeldUser {
                user,
                rows: VecDeque::new(),
                stopped: false,
            }));
            // The next rows of every user whose rows read so far all went out: what committed
            // since, for a user held from an earlier round, at once, without waiting for the
            // pass to end.
            let queued: usize = held.iter().map(|h| h.rows.len()).sum();
            let to_read: Vec<usize> = (0..held.len())
                .filter(|&i| !held[i].stopped && held[i].rows.is_empty())
                .collect();
            let budget = max_rows - queued as i64;
            if !to_read.is_empty() && budget > 0 {
                let users: Vec<&str> = to_read.iter().map(|&i| held[i].user.as_str()).collect();
                let rows: Vec<OutboxRow> = sqlx::query_as(USER_RUNS_SQL)
                    .bind(&users)
                    .bind(rounds - round)
                    .bind(budget)
                    .fetch_all(&mut *conn)
                    .await?;
                outcome.claimed += rows.len();
                if round == 0 && !rows.is_empty() {
                    // The first read of a pass reads up to `rounds` rows of each user, at most
                    // `budget` in all: a user who got `rounds`, or a read cut at its budget,
                    // means users have more rows waiting than reading them one by one costs.
                    let longest = rows
                        .chunk_by(|a, b| a.partition_key == b.partition_key)
                        .map(<[OutboxRow]>::len)
                        .max()
                        .unwrap_or(0);
                    let deep = longest as i64 >= rounds || rows.len() as i64 >= budget;
                    self.set_behind(deep || slow_read);
                }
                // The rows come user by user, in the order of `to_read`.
                let mut reading = to_read.into_iter().peekable();
                for row in rows {
                    while reading
                        .next_if(|&i| held[i].user != row.partition_key)
                        .is_some()
                    {}
                    let Some(&i) = reading.peek() else {
                        break;
                    };
                    let user = &mut held[i];
                    // A user whose first row another relay rescheduled since the heads were
                    // read waits.
                    if user.rows.is_empty() && !row.due {
                        user.stopped = true;
                    }
                    if !user.stopped {
                        user.rows.push_back(row);
                    }
                }
            }
            let holding_rows = held.iter().map(|h| h.rows.len()).sum();
            outcome.most_held = outcome.most_held.max(holding_rows);
            if holding_rows == 0 {
                break;
            }
            // One round: the next row of every user with rows waiting.
            let next: Vec<(usize, &OutboxRow)> = held
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.rows.front().map(|row| (i, row)))
                .collect();
            for (i, result) in self.publish_next(next).await {
                let user = &mut held[i];
                let Some(row) = user.rows.pop_front() else {
                    continue;
                };
                match result {
                    Ok(()) => published.push(row.id),
                    Err(error) => {
                        log_publish_failure(&error, row.id);
                        user.rows.clear();
                        user.stopped = true;
                        if matches!(error, DaprError::Unavailable(_)) {
                            outcome.sidecar_unreachable = true;
                        } else if self
                            .record_failure(conn, row.id, row.attempts, &error)
                            .await?
                        {
                            outcome.parked += 1;
                        }
                    }
                }
            }
            if outcome.sidecar_unreachable {
                break;
            }
        }
        // What the last round published goes before the locks do.
        if !published.is_empty() {
            sqlx::query(DELETE_PUBLISHED_SQL)
                .bind(&published)
                .execute(&mut *conn)
                .await?;
            outcome.deleted(&mut published);
        }
        let span = tracing::Span::current();
        span.record("claimed", outcome.claimed);
        span.record("published", outcome.published);
        Ok(outcome)
    }

    /// Reschedules a failed row with its own backoff, or parks it when the sidecar refused it
    /// for good `park_after` times. Returns whether it was parked.
    async fn record_failure(
        &self,
        conn: &mut PgConnection,
        id: i64,
        attempts: i32,
        error: &DaprError,
    ) -> sqlx::Result<bool> {
        let attempts = attempts.saturating_add(1);
        let park = !error.is_transient() && attempts >= self.settings.park_after;
        let delay = doubling_backoff(
            self.settings.initial_backoff,
            self.settings.max_backoff,
            attempts,
        );
        sqlx::query(RESCHEDULE_SQL)
            .bind(id)
            .bind(attempts)
            .bind(error.to_string())
            .bind(delay.as_secs_f64())
            .bind(park)
            .execute(&mut *conn)
            .await?;
        if park {
            metrics::counter!("outbox_parked_total").increment(1);
            tracing::error!(outbox_id = id, attempts, %error, "publish refused for good: row parked; the user's later events go on (see `backend-api outbox parked`)");
        }
        Ok(park)
    }

    /// Publishes one round: the next row of each of several users, in one request per topic (a
    /// bulk publish when there are several), so a request holds at most one row per user —
    /// daprd keeps no order among the entries of one request — and a user's next row goes out
    /// only once the broker took the one before. Answers each user's (its index) outcome.
    async fn publish_next(
        &self,
        next: Vec<(usize, &OutboxRow)>,
    ) -> Vec<(usize, Result<(), DaprError>)> {
        let mut by_topic: BTreeMap<(&str, &str), Vec<(usize, &OutboxRow)>> = BTreeMap::new();
        for (user, row) in next {
            by_topic
                .entry((row.pubsub.as_str(), row.topic.as_str()))
                .or_default()
                .push((user, row));
        }
        join_all(
            by_topic
                .into_iter()
                .map(|((pubsub, topic), rows)| self.publish_round(pubsub, topic, rows)),
        )
        .await
        .into_iter()
        .flatten()
        .map(|(user, _, outcome)| (user, outcome))
        .collect()
    }

    /// Publishes rows of different users to one topic: several in one bulk request, one by
    /// itself. A bulk request refused as a whole (a row the sidecar cannot take, the sidecar
    /// unreachable) is sent again one row at a time, so that only the rows at fault fail.
    async fn publish_round<'r>(
        &self,
        pubsub: &str,
        topic: &str,
        rows: Vec<(usize, &'r OutboxRow)>,
    ) -> Vec<(usize, &'r OutboxRow, Result<(), DaprError>)> {
        if rows.len() > 1 {
            let entries: Vec<BulkCloudEvent<'_>> = rows
                .iter()
                .map(|(_, row)| BulkCloudEvent {
                    envelope: &row.envelope,
                    partition_key: &row.partition_key,
                })
                .collect();
            match self
                .dapr
                .publish_cloudevents_bulk(pubsub, topic, &entries)
                .await
            {
                Ok(failed) => {
                    let mut failed: BTreeMap<usize, DaprError> = failed.into_iter().collect();
                    return rows
                        .into_iter()
                        .enumerate()
                        .map(|(index, (user, row))| {
                            (user, row, failed.remove(&index).map_or(Ok(()), Err))
                        })
                        .collect();
                }
                Err(error) => {
                    tracing::debug!(%error, topic, rows = rows.len(), "bulk publish refused as a whole; publishing one by one");
                }
            }
        }
        join_all(rows.into_iter().map(|(user, row)| async move {
            let outcome = self
                .dapr
                .publish_cloudevent_text(
                    &row.pubsub,
                    &row.topic,
                    row.envelope.clone(),
                    row.traceparent.as_deref(),
                    &row.partition_key,
                )
                .await;
            (user, row, outcome)
        }))
        .await
    }
}

/// A connection whose session may hold the relay's user locks: it is kept for the next pass
/// (or goes back to the pool) only through [`LockSession::release`], after the locks were
/// released; dropped otherwise, it is closed, so the server drops the locks with the session
/// and no pooled session keeps them.
struct LockSession(Option<TakenConnection>);

impl LockSession {
    fn release(mut self, kept: &mut KeptConnection) {
        kept.put_back(self.0.take().expect("released once"));
    }
}

impl Drop for LockSession {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

/// The wait after the `attempts`-th failed attempt: `initial`, doubled per attempt, at most
/// `max` (the outbox's and the dead letters' per-row backoff).
pub(crate) fn doubling_backoff(initial: Duration, max: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    initial.saturating_mul(2u32.pow(doublings)).min(max)
}

/// Parked rows, oldest first (for `backend-api outbox parked`).
pub async fn parked_rows(pool: &PgPool) -> sqlx::Result<Vec<ParkedRow>> {
    sqlx::query_as(
        "SELECT id, event_id, topic, partition_key, attempts, last_error, created_at, parked_at \
         FROM outbox WHERE parked_at IS NOT NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Puts parked rows back in line (all of them with `None`): they are published at the next
/// pass, after nothing — a replayed event may reach consumers after later events of its user.
pub async fn replay_parked(pool: &PgPool, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL \
         WHERE parked_at IS NOT NULL AND ($1::bigint IS NULL OR id = $1)",
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes parked rows (all of them with `None`): their events are given up.
pub async fn discard_parked(pool: &PgPool, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM outbox \
         WHERE parked_at IS NOT NULL AND ($1::bigint IS NULL OR id = $1)",
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

fn log_publish_failure(error: &DaprError, id: i64) {
    if error.is_transient() {
        tracing::warn!(outbox_id = id, %error, "publish failed, will retry");
    } else {
        tracing::error!(outbox_id = id, %error, "publish refused by the sidecar");
    }
}

//! Creates written together. A create without an idempotency key is one statement that commits
//! on its own ([`insert_task`]); under load most of its cost in the database is that statement
//! and its commit, not the rows (measured in docs/benchmarks.md, "twelfth pass": with
//! pgbench, eight tasks in one statement cost the machine about a quarter as much CPU a task as
//! eight statements).
//!
//! So the creates that arrive while a statement is under way wait for the next one and go in
//! together ([`insert_tasks`]): one writer takes whatever is queued, up to [`MAX_GROUP`], as
//! soon as it is free. A create that finds the writer free is written at once, alone; nothing
//! waits for a group to fill. One writer rather than several: with two, a create waited less
//! for a statement under way, but groups were smaller, and at 256 clients Postgres took more of
//! the cores, the events fell behind and the tail grew past twice the median
//! (docs/adr/0007-grouped-creates.md).
//!
//! A group commits or fails as a whole. When its statement fails (a row the database refuses,
//! the connection lost), each of its creates is written again alone by its own request, as if
//! there were no groups, and gets its own answer: one bad create fails only itself. A retry
//! that finds its task's id taken knows the group did commit (the id is the request's own,
//! fresh) and answers as stored; so does a statement that gets no answer in time
//! ([`STATEMENT_TIMEOUT`]). When the writer cannot get a connection at all (the pool timed
//! out: the database is away), its creates fail at once with that error, a 503, instead of
//! waiting for the pool a second time. A create whose request went away meanwhile is still
//! written, as a lone create whose answer was lost would be.

use std::sync::Arc;
use std::time::Duration;

use common::outbox::OutboxEntry;
use common::tasks::{Task, insert_task, insert_tasks};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The most creates one statement writes: as many as the benchmark's most clients, so that a
/// create never waits for more than the statement under way and its own.
pub const MAX_GROUP: usize = 256;

/// How long the writer waits for a group's statement by default. Every create of the process waits behind
/// it, so a statement stuck on a connection that stopped answering must not hold them for as
/// long as TCP would take to notice: past this, each create is written alone by its request (a
/// statement that did commit after all is then found by its creates' ids).
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates queued beyond this make the next request wait for room.
const QUEUE: usize = 1024;

/// The writer of grouped creates (see the module docs); cheap to clone.
#[derive(Debug, Clone)]
pub struct Creates {
    pool: PgPool,
    queue: mpsc::Sender<Pending>,
}

/// A create in the queue: the task and its event (shared with the request, which writes them
/// itself if the group fails) and where the group's outcome goes.
#[derive(Debug)]
struct Pending {
    row: Arc<(Task, OutboxEntry)>,
    done: oneshot::Sender<Stored>,
}

/// What a group's statement did with one of its creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Inserted,
    /// The user's account was deleted: nothing was stored.
    Erased,
    /// The statement failed, or no writer took the create: the request writes it alone.
    Failed,
    /// The writer got no connection: the database is away (or the pool closed).
    Unavailable {
        closed: bool,
    },
}

impl Creates {
    /// Starts the writer on `pool`; it stops when the last clone of the answer is dropped.
    pub fn start(pool: PgPool) -> Self {
        Self::start_with_timeout(pool, STATEMENT_TIMEOUT)
    }

    /// [`Creates::start`] with another [`STATEMENT_TIMEOUT`] (tests shorten it).
    pub fn start_with_timeout(pool: PgPool, statement_timeout: Duration) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(pool.clone(), receiver, statement_timeout));
        Self { pool, queue }
    }

    /// Stores `task` and its `event` and wakes the relay. Answers like [`insert_task`]:
    /// [`sqlx::Error::RowNotFound`] when the user's account was deleted. The task's id must be
    /// new, made for this create (a task found under it is taken for this create's own).
    pub async fn store(&self, task: Task, event: OutboxEntry) -> sqlx::Result<Task> {
        let row = Arc::new((task, event));
        let (done, stored) = oneshot::channel();
        let pending = Pending {
            row: Arc::clone(&row),
            done,
        };
        let outcome = match self.queue.send(pending).await {
            Ok(()) => stored.await.unwrap_or(Stored::Failed),
            Err(_) => Stored::Failed,
        };
        // The writer let go of the row before it answered: no copy is made here.
        let (task, event) = Arc::unwrap_or_clone(row);
        match outcome {
            Stored::Inserted => Ok(task),
            Stored::Erased => Err(sqlx::Error::RowNotFound),
            Stored::Unavailable { closed: true } => Err(sqlx::Error::PoolClosed),
            Stored::Unavailable { closed: false } => Err(sqlx::Error::PoolTimedOut),
            Stored::Failed => {
                let mut conn = self.pool.acquire().await?;
                match insert_task(&mut conn, &task, &event).await {
                    Ok(()) => common::outbox::committed(),
                    // The group committed, and only its answer was lost with the connection.
                    Err(sqlx::Error::Database(e)) if e.constraint() == Some("tasks_pkey") => {}
                    Err(error) => return Err(error),
                }
                Ok(task)
            }
        }
    }
}

/// The writer: takes what is queued (waiting only for the first), writes it as one statement,
/// answers each create. Ends when the queue is closed.
async fn write_groups(pool: PgPool, mut queue: mpsc::Receiver<Pending>, timeout: Duration) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        if queue.recv_many(&mut group, MAX_GROUP).await == 0 {
            return;
        }
        let written = write_group(&pool, &group, timeout).await;
        for Pending { row, done } in group.drain(..) {
            let outcome = match &written {
                Ok(stored) if stored.contains(&row.1.event_id) => Stored::Inserted,
                Ok(_) => Stored::Erased,
                Err(failed) => *failed,
            };
            // Let go of the row first, so that the request takes it back without a copy.
            drop(row);
            // A request that went away no longer listens; its create was written all the same.
            let _ = done.send(outcome);
        }
    }
}

/// Writes `group` in one statement: the event ids stored, or what each of its creates is to
/// do instead.
async fn write_group(
    pool: &PgPool,
    group: &[Pending],
    timeout: Duration,
) -> Result<Vec<Uuid>, Stored> {
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, creates = group.len(), "no connection for a group of creates");
            return Err(match error {
                sqlx::Error::PoolClosed => Stored::Unavailable { closed: true },
                sqlx::Error::PoolTimedOut => Stored::Unavailable { closed: false },
                // A connection the pool could not open: each create tries its own.
                _ => Stored::Failed,
            });
        }
    };
    let rows: Vec<(&Task, &OutboxEntry)> = group.iter().map(|p| (&p.row.0, &p.row.1)).collect();
    match tokio::time::timeout(timeout, insert_tasks(&mut conn, &rows)).await {
        Ok(Ok(stored)) => {
            if !stored.is_empty() {
                common::outbox::committed();
            }
            Ok(stored)
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, creates = group.len(), "a group of creates failed; each is written alone");
            Err(Stored::Failed)
        }
        Err(_) => {
            tracing::warn!(
                creates = group.len(),
                "a group of creates got no answer in time; each is written alone"
            );
            // Mid-statement: no use to anyone. Dropped without a word to the server, which
            // may be what stopped answering; the pool opens another.
            drop(conn.detach());
            Err(Stored::Failed)
        }
    }
}

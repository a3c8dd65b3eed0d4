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
//! A group commits or fails as a whole, and each of its creates gets an answer that is true:
//! - **the database refused a row** (a value out of range, a constraint; SQLSTATE classes 22
//!   and 23, or a serialization failure): nothing was stored, and each create is written again
//!   alone by its own request, as if there were no groups; one bad create fails only itself;
//! - **the statement ran past [`STATEMENT_TIMEOUT`]** (the server cancels it: the writer's
//!   session has that `statement_timeout`) **or failed for the server's own reasons** (out of
//!   disk or memory): nothing was stored, and every create of the group answers 503. Writing
//!   them one by one would only send the database more statements when it is slowest;
//! - **the connection was lost mid-statement**, or gave no answer for [`ANSWER_GRACE`] past the
//!   timeout: whether the group committed is unknown, and its creates answer 503, as a lone
//!   create on a lost connection does. A client that must not create twice sends an
//!   idempotency key (such a create goes through its own transaction and its key);
//! - **the writer got no connection** (the database is away): 503 at once, without waiting for
//!   a pool a second time.
//!
//! A create whose request went away meanwhile is still written, as a lone create whose answer
//! was lost would be; if its group is refused, nobody writes it again.

use std::sync::Arc;
use std::time::Duration;

use common::db::KeptConnection;
use common::outbox::OutboxEntry;
use common::tasks::{Task, insert_task, insert_tasks};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The most creates one statement writes: as many as the benchmark's most clients, so that a
/// create never waits for more than the statement under way and its own.
pub const MAX_GROUP: usize = 256;

/// The writer's sessions' `statement_timeout`: every create of the process waits behind its
/// statement, so one stuck on a lock or a stalled disk must not hold them longer than this.
/// The server cancels it, which leaves a definite outcome: nothing stored.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long past the timeout the writer waits for the server's answer before it gives up the
/// connection: only one that stopped answering gets there (TCP would take far longer to tell).
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// Whether a statement failed with `code` for something in its rows (a value out of range, a
/// constraint), or lost a race it may win alone (serialization failure, deadlock): SQLSTATE
/// classes 22 and 23, 40001, 40P01. Anything else (57014, the statement timeout; 53, out of
/// resources; XX, internal) would fail the creates one by one as well, or only load a server in
/// trouble.
fn refused_for_its_data(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        code.starts_with("22") || code.starts_with("23") || code == "40001" || code == "40P01"
    })
}

/// Creates queued beyond this make the next request wait for room.
const QUEUE: usize = 1024;

/// The writer of grouped creates (see the module docs); cheap to clone.
#[derive(Debug, Clone)]
pub struct Creates {
    /// Where a create refused with its group is written alone.
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
    /// The database refused the statement, which stored nothing, or no writer took the create:
    /// the request writes it alone.
    Refused,
    /// The server failed the statement for reasons of its own (its timeout, a full disk, no
    /// memory): nothing was stored, and writing the creates one by one would only add load.
    Failed,
    /// The connection was lost mid-statement: stored or not, nobody knows.
    Unknown,
    /// The writer got no connection: the database is away (or the pool closed).
    Unavailable {
        closed: bool,
    },
}

impl Creates {
    /// Starts the writer, with a connection of its own ([`writer_pool`]) on the database of
    /// `pool`; it stops when the last clone of the answer is dropped.
    pub fn start(pool: PgPool) -> Self {
        let writer = writer_pool(&pool, STATEMENT_TIMEOUT);
        Self::start_on(pool, writer, STATEMENT_TIMEOUT)
    }

    /// [`Creates::start`] with the writer's pool given: its sessions must cancel a statement
    /// after `statement_timeout` ([`writer_pool`] makes such a pool; tests also give others).
    pub fn start_on(pool: PgPool, writer: PgPool, statement_timeout: Duration) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(writer, receiver, statement_timeout));
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
            // The writer stopped with the create in hand: it may have sent it.
            Ok(()) => stored.await.unwrap_or(Stored::Unknown),
            Err(_) => {
                tracing::error!(
                    "the writer of grouped creates stopped; creates are written one by one"
                );
                Stored::Refused
            }
        };
        // The writer let go of the row before it answered: no copy is made here.
        let (task, event) = Arc::unwrap_or_clone(row);
        match outcome {
            Stored::Inserted => Ok(task),
            Stored::Erased => Err(sqlx::Error::RowNotFound),
            Stored::Unavailable { closed: true } => Err(sqlx::Error::PoolClosed),
            Stored::Unavailable { closed: false } => Err(sqlx::Error::PoolTimedOut),
            Stored::Failed => Err(unavailable(
                std::io::ErrorKind::TimedOut,
                "the database did not store the task (too slow, or failing); nothing was stored",
            )),
            Stored::Unknown => Err(unavailable(
                std::io::ErrorKind::ConnectionAborted,
                "the connection to the database was lost while the task was being stored",
            )),
            Stored::Refused => {
                let mut conn = self.pool.acquire().await?;
                insert_task(&mut conn, &task, &event).await?;
                common::outbox::committed();
                Ok(task)
            }
        }
    }
}

/// A pool for the writer on the database of `pool`: one connection whose statements the server
/// cancels after `statement_timeout`.
pub fn writer_pool(pool: &PgPool, statement_timeout: Duration) -> PgPool {
    let timeout = format!("{}ms", statement_timeout.as_millis());
    common::db::session_pool(pool, 1, &[("statement_timeout", &timeout)])
}

/// An error that answers 503 (the database is out of reach for now; see
/// `common::error::database_unavailable`).
fn unavailable(kind: std::io::ErrorKind, message: &'static str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(kind, message))
}

/// The writer: takes what is queued (waiting only for the first), writes it as one statement,
/// answers each create. Ends when the queue is closed.
async fn write_groups(pool: PgPool, mut queue: mpsc::Receiver<Pending>, timeout: Duration) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    // A connection that just wrote a group writes the next one, without sqlx's ping of it on
    // its way back to the pool in between (a round trip a group, which the next group waited
    // for: the pool has one connection).
    let mut conn = KeptConnection::new(pool);
    loop {
        if queue.recv_many(&mut group, MAX_GROUP).await == 0 {
            return;
        }
        let written = write_group(&mut conn, &group, timeout).await;
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
/// do instead. A connection that met an error goes back to the pool, which checks it.
async fn write_group(
    kept: &mut KeptConnection,
    group: &[Pending],
    timeout: Duration,
) -> Result<Vec<Uuid>, Stored> {
    let mut conn = match kept.take().await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, creates = group.len(), "no connection for a group of creates");
            return Err(match error {
                sqlx::Error::PoolClosed => Stored::Unavailable { closed: true },
                sqlx::Error::PoolTimedOut => Stored::Unavailable { closed: false },
                // A connection the pool could not open (refused, say): nothing was sent, and
                // each create tries its own.
                _ => Stored::Refused,
            });
        }
    };
    let rows: Vec<(&Task, &OutboxEntry)> = group.iter().map(|p| (&p.row.0, &p.row.1)).collect();
    match tokio::time::timeout(timeout + ANSWER_GRACE, insert_tasks(&mut conn, &rows)).await {
        Ok(Ok(stored)) => {
            if !stored.is_empty() {
                common::outbox::committed();
            }
            kept.put_back(conn);
            Ok(stored)
        }
        // The server answered with an error: the statement, and its implicit transaction, are
        // rolled back. Only a refusal of the data is worth a create-by-create retry: it isolates
        // the create at fault.
        Ok(Err(sqlx::Error::Database(error))) if refused_for_its_data(error.code().as_deref()) => {
            tracing::warn!(%error, creates = group.len(), "a group of creates was refused; each is written alone");
            Err(Stored::Refused)
        }
        Ok(Err(error @ sqlx::Error::Database(_))) => {
            tracing::warn!(%error, creates = group.len(), "a group of creates failed in the database (its timeout, or the server's own trouble); nothing stored");
            Err(Stored::Failed)
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, creates = group.len(), "a group of creates lost its connection; stored or not is unknown");
            Err(Stored::Unknown)
        }
        Err(_) => {
            tracing::warn!(
                creates = group.len(),
                "a group of creates got no answer, even past its timeout; stored or not is unknown"
            );
            // Mid-statement: no use to anyone. Dropped without a word to the server, which
            // may be what stopped answering; the pool opens another.
            drop(conn.detach());
            Err(Stored::Unknown)
        }
    }
}

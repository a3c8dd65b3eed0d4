//! Database plumbing: the one migrator over `migrations/`, pool construction, and creating
//! the database when it is missing (for `fleet` and tests).

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Postgres};
use tokio::time::Instant;

/// Every migration of the project, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// A connection that sat in the pool longer than this is pinged before it is handed out.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The pool settings every service shares. sqlx pings every connection on every acquire by
/// default: a round trip (and a Postgres wake-up) per request, measured at a tenth of a list
/// read's cost. Here only a connection idle for [`PING_AFTER_IDLE`] is pinged, which is where
/// a database restart or a dropped link leaves stale ones; a connection that broke while in
/// busy use fails its request with 503 (the database is away) and is replaced.
pub(crate) fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// How long a [`KeptConnection`] keeps one connection out of its pool while it stays busy, so
/// that the pool's `max_lifetime` and its checks still apply to it now and then.
pub const KEEP_AT_MOST: Duration = Duration::from_secs(60);

/// One connection a task keeps out of its pool between two uses.
///
/// sqlx pings every connection as it goes back to its pool (`Floating::return_to_pool`; it
/// cannot be turned off): a round trip and a wake-up of the server each time. A task that
/// takes one connection after another for brief work (the creates' writer, the outbox relay)
/// paid that once for each piece of its work, and with a pool of one connection its next piece
/// waited for it. Kept here, a connection that just served is used again as it is. One idle
/// for [`PING_AFTER_IDLE`] (as the pool would ping it), kept for [`KEEP_AT_MOST`], or not put
/// back after its use (a use that failed or was cut short) goes back to the pool, which checks
/// it, and the next use takes one from the pool.
#[derive(Debug)]
pub struct KeptConnection {
    pool: PgPool,
    kept: Option<(TakenConnection, Instant)>,
}

/// A connection from a [`KeptConnection`]: dropped, it goes back to its pool.
#[derive(Debug)]
pub struct TakenConnection {
    conn: PoolConnection<Postgres>,
    /// When it left the pool.
    taken: Instant,
}

impl KeptConnection {
    /// Keeps connections of `pool`; none yet.
    pub fn new(pool: PgPool) -> Self {
        Self { pool, kept: None }
    }

    /// The connection kept since its last use if it may be used as it is, or else one of the
    /// pool's (a stale one goes back to the pool first).
    pub async fn take(&mut self) -> sqlx::Result<TakenConnection> {
        if let Some((conn, used)) = self.kept.take() {
            let now = Instant::now();
            if now - used < PING_AFTER_IDLE && now - conn.taken < KEEP_AT_MOST {
                return Ok(conn);
            }
        }
        let conn = self.pool.acquire().await?;
        Ok(TakenConnection {
            conn,
            taken: Instant::now(),
        })
    }

    /// Keeps `conn` for the next [`Self::take`]: only after a use that went well, with nothing
    /// of it left open on the session (no transaction, no lock).
    pub fn put_back(&mut self, conn: TakenConnection) {
        self.kept = Some((conn, Instant::now()));
    }
}

impl TakenConnection {
    /// The connection, taken from its pool for good (closed when dropped): for one whose
    /// state is unknown, such as one that stopped answering.
    pub fn detach(self) -> PgConnection {
        self.conn.detach()
    }
}

impl Deref for TakenConnection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for TakenConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// A pool of at most `max_connections` of its own on the database of `pool`, connecting on
/// first use, whose sessions run with `settings` (`SET` at connect): for a task that needs its
/// own session limits, such as a server-side `statement_timeout`.
pub fn session_pool(pool: &PgPool, max_connections: u32, settings: &[(&str, &str)]) -> PgPool {
    pool_options(max_connections).connect_lazy_with(session_options(pool, settings))
}

/// The connect options of `pool` with `settings` set at connect (see [`session_pool`]).
pub fn session_options(pool: &PgPool, settings: &[(&str, &str)]) -> PgConnectOptions {
    (*pool.connect_options())
        .clone()
        .options(settings.iter().copied())
}

/// A pool for `url` with `max_connections`; fails fast when the database is unreachable.
pub async fn connect(url: &str, max_connections: u32) -> sqlx::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
    pool_options(max_connections).connect_with(options).await
}

/// A pool that connects on first use, so a service can start (and answer `/healthz`) while the
/// database is still coming up; `/readyz` reports it.
pub fn connect_lazy(url: &str, max_connections: u32) -> sqlx::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Trace);
    Ok(pool_options(max_connections).connect_lazy_with(options))
}

/// A one-connection pool on `DATABASE_URL` (default: the local database), for the operator
/// commands that need nothing else (`migrate`, `outbox`, `dead-letters`).
pub async fn operator_pool() -> anyhow::Result<PgPool> {
    let url: String = crate::config::env_or(
        "DATABASE_URL",
        crate::config::DEFAULT_DATABASE_URL.to_owned(),
    )?;
    Ok(connect(&url, 1).await?)
}

/// The rows an operator command names: `all` → every one (`None`), a number → that row.
pub fn row_target(arg: Option<&str>, usage: &str) -> anyhow::Result<Option<i64>> {
    match arg {
        Some("all") => Ok(None),
        Some(id) => Ok(Some(id.parse()?)),
        None => anyhow::bail!("{usage}"),
    }
}

/// Creates the database named in `url` if it does not exist (connecting to the `postgres`
/// maintenance database to do so).
pub async fn ensure_database(url: &str) -> sqlx::Result<()> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        // Two starters racing: the loser's "already exists" is success.
        match sqlx::query(&format!("CREATE DATABASE \"{quoted}\""))
            .execute(&mut admin)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e),
        }
    }
    admin.close().await
}

//! Every SQL statement on `audit_log`: appending an entry to a user's chain, listing a user's
//! entries, and reading a user's chain back for verification.

use chrono::SubsecRound;
use chrono::{DateTime, Utc};
use common::events::{TaskEvent, UserDeleted};
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::chain::{ChainCheck, Entry, link_hash};

/// What appending an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// A new entry was linked into the user's chain.
    Recorded,
    /// The event had been recorded before; nothing changed.
    Duplicate,
    /// The user's account was deleted (their chain is a tombstone): nothing is recorded of them.
    Erased,
}

/// The `event_type` of the entry that replaces an erased user's chain.
pub const TOMBSTONE: &str = common::events::topics::USER_DELETED;

/// Records `event` as the next entry of its user's chain. The entry is its own record of being
/// processed: `audit_log.event_id` is unique, and an event found there (a redelivery, also a
/// concurrent one, which waits for the chain lock until the first commits) changes nothing.
/// Audit keeps no `processed_events` records, which only doubled that key and, never pruned,
/// grew without bound. Entries of one user are serialised by a transaction-scoped advisory
/// lock, so two events never read the same predecessor; `UNIQUE (user_id, prev_hash)` refuses a
/// fork should that ever fail. A batch of one ([`append_batch`]).
#[tracing::instrument(skip_all, fields(event_id = %event.event_id, user_id = %event.user_id))]
pub async fn append(pool: &PgPool, event: &TaskEvent) -> sqlx::Result<Appended> {
    Ok(
        match append_batch(pool, std::slice::from_ref(event)).await? {
            Some(outcomes) => outcomes.first().copied().unwrap_or(Appended::Duplicate),
            // Its one entry went in meanwhile.
            None => Appended::Duplicate,
        },
    )
}

/// Takes the chain locks of `$1` (users) for the transaction, in one order for every writer,
/// so two writers never deadlock; every writer of a chain holds its lock while it reads the
/// head and links its entries. The same statement sets how the rest of the transaction is
/// planned:
///
/// * **on generic plans**: the heads' statement is otherwise planned again on every call (its
///   custom plans, costed for the batch's real size, mostly one or two users, stay below the
///   generic plan's estimate for ten), which cost Postgres 0.17 ms a batch (docs/benchmarks.md,
///   "eighth pass");
/// * **by index, never by sequential scan**: each statement is prepared once per connection and
///   its generic plan made for the log as it was then, on a new database an empty one. On that
///   plan the look-up of a batch's events already recorded read the whole log, as it grew,
///   on every batch (docs/benchmarks.md, "ninth pass"). Every statement of a write reads the
///   log by a user's or an event's key, so an index always answers it.
pub const LOCK_CHAINS_SQL: &str = "\
SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
       set_config('enable_seqscan', 'off', true),
       (SELECT count(pg_advisory_xact_lock(k)) FROM (
            SELECT DISTINCT hashtextextended('audit:' || u, 0) AS k
            FROM unnest($1::text[]) AS u ORDER BY k) AS locks)";

/// The chain head of each user `$1`: the last entry's hash and type (none for an empty chain),
/// the transaction's clock, and those of the events `$2` already in the log (the same list on
/// every row: an uncorrelated subquery, run once). Run after [`LOCK_CHAINS_SQL`], in a statement
/// of its own: its snapshot includes the last holder's commit.
pub const HEADS_SQL: &str = "\
SELECT u, h.hash, h.event_type, clock_timestamp(),
       (SELECT coalesce(array_agg(event_id), '{}') FROM audit_log WHERE event_id = ANY($2))
FROM unnest($1::text[]) AS u
LEFT JOIN LATERAL (
    SELECT hash, event_type FROM audit_log WHERE user_id = u ORDER BY id DESC LIMIT 1
) AS h ON true";

/// Every statement of a write to `audit_log` that reads it, for the test that none is planned
/// as a sequential scan.
pub const WRITE_STATEMENTS: [&str; 2] = [HEADS_SQL, INSERT_ENTRIES_SQL];

/// Takes the chain locks of `users` for the transaction ([`LOCK_CHAINS_SQL`]).
async fn lock_chains(tx: &mut PgConnection, users: &[&str]) -> sqlx::Result<()> {
    sqlx::query(LOCK_CHAINS_SQL)
        .bind(users)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The heads of `users` and those of `ids` already recorded ([`HEADS_SQL`]).
async fn chain_heads(
    tx: &mut PgConnection,
    users: &[&str],
    ids: &[Uuid],
) -> sqlx::Result<Vec<Head>> {
    sqlx::query_as(HEADS_SQL)
        .bind(users)
        .bind(ids)
        .fetch_all(&mut *tx)
        .await
}

/// Records `events`, in delivery order, as the next entries of their users' chains in one
/// transaction: one commit for a whole bulk delivery instead of one per event. The same rules
/// as [`append`]: an event already in the log changes nothing, and the chain locks of every
/// user in the batch are held (taken in one order by every writer, so two batches never
/// deadlock) while their predecessors and the events already recorded are read and the entries
/// linked.
///
/// `None` when the batch could not be linked in one go (an entry went in meanwhile without the
/// chain lock, which no writer here does): nothing was written, and the caller appends the
/// events one by one with [`append`].
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn append_batch(
    pool: &PgPool,
    events: &[TaskEvent],
) -> sqlx::Result<Option<Vec<Appended>>> {
    if events.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let mut users: Vec<&str> = events.iter().map(|e| e.user_id.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    lock_chains(&mut tx, &users).await?;
    let heads = chain_heads(&mut tx, &users, &ids).await?;
    let recorded_at = heads.first().map_or_else(Utc::now, |(_, _, _, at, _)| *at);
    let recorded: std::collections::HashSet<Uuid> = heads
        .first()
        .map(|(.., ids)| ids.iter().copied().collect())
        .unwrap_or_default();
    // Users whose account was deleted: their events are kept out (see [`append`]).
    let erased: std::collections::HashSet<String> = heads
        .iter()
        .filter(|(_, _, head_type, ..)| head_type.as_deref() == Some(TOMBSTONE))
        .map(|(user, ..)| user.clone())
        .collect();
    let mut head: std::collections::HashMap<String, Option<String>> = heads
        .into_iter()
        .map(|(user, hash, ..)| (user, hash))
        .collect();
    let mut outcomes = Vec::with_capacity(events.len());
    let mut rows = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for event in events {
        // A copy of an event earlier in the same batch is a duplicate too.
        if recorded.contains(&event.event_id) || !taken.insert(event.event_id) {
            outcomes.push(Appended::Duplicate);
            continue;
        }
        if erased.contains(&event.user_id) {
            outcomes.push(Appended::Erased);
            continue;
        }
        let entry = Entry::from_event(event, recorded_at);
        let prev_hash = head.get(&entry.user_id).cloned().flatten();
        let hash = link_hash(prev_hash.as_deref(), &entry);
        head.insert(entry.user_id.clone(), Some(hash.clone()));
        rows.push((entry, prev_hash, hash));
        outcomes.push(Appended::Recorded);
    }
    if !rows.is_empty() {
        let inserted = insert_entries(&mut tx, &rows).await?;
        if inserted != rows.len() as u64 {
            // An entry went in meanwhile: the links computed above skip it. One by one instead.
            tx.rollback().await?;
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(outcomes))
}

/// Inserts entries given as one array per column, in array order (the chain order is the row
/// id's), skipping any whose event is already recorded.
pub const INSERT_ENTRIES_SQL: &str = "\
INSERT INTO audit_log (event_id, user_id, event_type, task_id, actor, occurred_at, recorded_at,
                       changes, snapshot, prev_hash, hash)
SELECT event_id, user_id, event_type, task_id, actor, occurred_at, recorded_at, changes,
       snapshot, prev_hash, hash
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::jsonb[], $9::jsonb[], $10::text[], $11::text[])
     WITH ORDINALITY AS e(event_id, user_id, event_type, task_id, actor, occurred_at,
                          recorded_at, changes, snapshot, prev_hash, hash, n)
ORDER BY n
ON CONFLICT (event_id) DO NOTHING";

/// Inserts a batch's linked entries, each `(entry, prev_hash, hash)`, in the order given (the
/// chain order is the row id's), skipping any whose event is already recorded; returns how many
/// went in. One statement whatever the batch's size: each column is bound as one array, where a
/// multi-row `VALUES` list was a different statement for every size (up to 100 prepared on each
/// connection, as many as sqlx's statement cache holds) with eleven parameters a row, each
/// planned again on about half its executions (docs/benchmarks.md, "eighth pass").
async fn insert_entries(
    tx: &mut PgConnection,
    rows: &[(Entry, Option<String>, String)],
) -> sqlx::Result<u64> {
    let mut event_ids = Vec::with_capacity(rows.len());
    let mut user_ids = Vec::with_capacity(rows.len());
    let mut event_types = Vec::with_capacity(rows.len());
    let mut task_ids = Vec::with_capacity(rows.len());
    let mut actors = Vec::with_capacity(rows.len());
    let mut occurred = Vec::with_capacity(rows.len());
    let mut recorded = Vec::with_capacity(rows.len());
    let mut changes = Vec::with_capacity(rows.len());
    let mut snapshots = Vec::with_capacity(rows.len());
    let mut prev_hashes = Vec::with_capacity(rows.len());
    let mut hashes = Vec::with_capacity(rows.len());
    for (entry, prev_hash, hash) in rows {
        event_ids.push(entry.event_id);
        user_ids.push(entry.user_id.as_str());
        event_types.push(entry.event_type.as_str());
        task_ids.push(entry.task_id);
        actors.push(entry.actor.as_str());
        occurred.push(entry.occurred_at);
        recorded.push(entry.recorded_at);
        changes.push(entry.changes.as_ref());
        snapshots.push(entry.snapshot.as_ref());
        prev_hashes.push(prev_hash.as_deref());
        hashes.push(hash.as_str());
    }
    let inserted = sqlx::query(INSERT_ENTRIES_SQL)
        .bind(&event_ids)
        .bind(&user_ids)
        .bind(&event_types)
        .bind(&task_ids)
        .bind(&actors)
        .bind(&occurred)
        .bind(&recorded)
        .bind(&changes)
        .bind(&snapshots)
        .bind(&prev_hashes)
        .bind(&hashes)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(inserted)
}

/// A user's chain head as a batch reads it: the user, the last entry's hash and type (none for
/// an empty chain), the transaction's clock, and the batch's events already in the log.
type Head = (
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Vec<Uuid>,
);

/// What erasing a user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erased {
    /// The user's entries were deleted and a tombstone now starts their chain.
    Tombstoned {
        /// How many entries were deleted.
        entries: i64,
    },
    /// The user was erased before (this event or another one); nothing changed.
    Duplicate,
}

/// Erases `event`'s user from the audit trail: deletes their entries (the one deletion the
/// table's trigger lets through, for the user named in this transaction's
/// `taskfleet.audit_erasure`) and starts their chain again with a tombstone entry that keeps
/// how many entries there were and the hash of the last one, not what they said. Later events
/// of the user are kept out ([`Appended::Erased`]). Idempotent by event id, and a second
/// deletion event of the same user changes nothing.
#[tracing::instrument(skip_all, fields(event_id = %event.event_id, user_id = %event.user_id))]
pub async fn erase(pool: &PgPool, event: &UserDeleted) -> sqlx::Result<Erased> {
    let mut tx = pool.begin().await?;
    let user = event.user_id.as_str();
    lock_chains(&mut tx, &[user]).await?;
    let Some((_, head, head_type, recorded_at, recorded)) =
        chain_heads(&mut tx, &[user], &[event.event_id])
            .await?
            .pop()
    else {
        return Err(sqlx::Error::RowNotFound);
    };
    // This event's tombstone, or another deletion's: erased already.
    if !recorded.is_empty() || head_type.as_deref() == Some(TOMBSTONE) {
        tx.rollback().await?;
        return Ok(Erased::Duplicate);
    }
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE user_id = $1")
        .bind(&event.user_id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("SELECT set_config('taskfleet.audit_erasure', $1, true)")
        .bind(&event.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM audit_log WHERE user_id = $1")
        .bind(&event.user_id)
        .execute(&mut *tx)
        .await?;
    let entry = Entry {
        event_id: event.event_id,
        user_id: event.user_id.clone(),
        event_type: TOMBSTONE.to_owned(),
        task_id: None,
        actor: "user".to_owned(),
        occurred_at: event.timestamp.trunc_subsecs(6),
        recorded_at: recorded_at.trunc_subsecs(6),
        changes: None,
        snapshot: Some(serde_json::json!({
            "erased_entries": entries,
            "erased_chain_head": head,
        })),
    };
    let hash = link_hash(None, &entry);
    sqlx::query(
        "INSERT INTO audit_log (event_id, user_id, event_type, task_id, actor, occurred_at, \
         recorded_at, changes, snapshot, prev_hash, hash) \
         VALUES ($1, $2, $3, NULL, $4, $5, $6, NULL, $7, NULL, $8)",
    )
    .bind(entry.event_id)
    .bind(&entry.user_id)
    .bind(&entry.event_type)
    .bind(&entry.actor)
    .bind(entry.occurred_at)
    .bind(entry.recorded_at)
    .bind(&entry.snapshot)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Erased::Tombstoned { entries })
}

/// One stored entry as listed and verified.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEntry {
    /// Row id: the chain order, and the tie-break of the list order.
    pub id: i64,
    /// The hashed fields.
    #[sqlx(flatten)]
    pub entry: Entry,
    /// The previous entry's hash (`None` for the user's first).
    pub prev_hash: Option<String>,
    /// This entry's hash.
    pub hash: String,
}

const COLUMNS: &str = "id, event_id, user_id, event_type, task_id, actor, occurred_at, \
                       recorded_at, changes, snapshot, prev_hash, hash";

/// Filters of `GET /api/audit`, all optional except the owner.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Only entries about this task.
    pub task_id: Option<Uuid>,
    /// Only entries of this topic.
    pub event_type: Option<String>,
    /// Only entries that occurred at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries that occurred before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only entries listed after this (occurred_at, id) position: the keyset cursor.
    pub before: Option<(DateTime<Utc>, i64)>,
}

/// Up to `limit` of `user_id`'s entries matching `filter`, newest first by when the change
/// happened. Arrival order (the chain order, `id`) can differ: events of different topics are
/// not ordered against each other by the broker, so a completion may arrive after a deletion
/// that followed it. `occurred_at` is the writer's commit-ordered clock for one task.
pub async fn list(
    pool: &PgPool,
    user_id: &str,
    filter: &ListFilter,
    limit: i64,
) -> sqlx::Result<Vec<StoredEntry>> {
    let mut sql =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM audit_log WHERE user_id = "));
    sql.push_bind(user_id);
    if let Some(task_id) = filter.task_id {
        sql.push(" AND task_id = ").push_bind(task_id);
    }
    if let Some(event_type) = &filter.event_type {
        sql.push(" AND event_type = ").push_bind(event_type);
    }
    if let Some(since) = filter.since {
        sql.push(" AND occurred_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        sql.push(" AND occurred_at < ").push_bind(until);
    }
    if let Some((occurred_at, id)) = filter.before {
        sql.push(" AND (occurred_at, id) < (")
            .push_bind(occurred_at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    // Written in, not bound: a bound LIMIT makes Postgres plan the statement again on every
    // execution (backend-api's tasks::query::list says why). `limit` is an integer.
    sql.push(format_args!(
        " ORDER BY occurred_at DESC, id DESC LIMIT {limit}"
    ));
    sql.build_query_as().fetch_all(pool).await
}

/// Recomputes `user_id`'s whole chain in id order, streaming so a long chain is never held in
/// memory at once.
pub async fn verify(pool: &PgPool, user_id: &str) -> sqlx::Result<ChainCheck> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE user_id = $1 ORDER BY id");
    let mut rows = sqlx::query_as::<_, StoredEntry>(&sql)
        .bind(user_id)
        .fetch(pool);
    let mut check = ChainCheck::default();
    while let Some(row) = rows.try_next().await? {
        check.push(&row.entry, row.prev_hash.as_deref(), &row.hash);
    }
    Ok(check)
}

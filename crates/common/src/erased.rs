//! The accounts that were deleted, known to every service that authenticates users, so that a
//! token issued before the deletion is refused from the moment it commits rather than when the
//! token expires (Better Auth's tokens live 15 minutes; a `fleet token` can live longer).
//!
//! backend-api inserts the user into `erased_users` in the transaction that erases the account
//! ([`crate::auth`] has no other source of truth: a JWT cannot be withdrawn). A trigger on that
//! table NOTIFYs [`CHANNEL`] with the user id, which Postgres delivers when the erasure commits.
//! Each service process keeps the set in memory: [`ErasedAccounts::watch`] LISTENs first, then
//! loads the whole table (so an erasure committed in between is in one or the other), adds
//! every notified id, and loads the table again whenever its listening connection was lost,
//! since notifications sent meanwhile are gone. A check is then a lookup in memory, not a round
//! trip on every request.
//!
//! Until the first load the set is unknown: [`ErasedAccounts::check`] waits for it a little
//! and then answers [`AuthError::AccountsUnknown`] (a 503, not a 401 that would sign the user
//! out).
//! User ids are never reused (Better Auth makes random ones), so the set only grows: one entry
//! per deleted account, kept as long as `erased_users` keeps it.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthError, AuthSettings, JwtVerifier};

/// The channel the `erased_users` trigger notifies, with the user id as its payload
/// (migrations/20261205000021_erased_users_notify.sql).
pub const CHANNEL: &str = "erased_users";

/// How long a check waits for the first load (a replica's first requests, as it starts).
pub const FIRST_LOAD_WAIT: Duration = Duration::from_secs(3);

/// How long the watcher waits before connecting again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The set of deleted accounts, shared by a service's verifier and its watcher.
#[derive(Debug)]
pub struct ErasedAccounts {
    /// `None` until the table was first loaded.
    known: RwLock<Option<HashSet<String>>>,
    /// Counts every change of the set (a load, an added id), so a caller can wait for one.
    changes: watch::Sender<u64>,
}

impl ErasedAccounts {
    /// An empty, not yet loaded set: every check answers [`AuthError::AccountsUnknown`] until
    /// [`Self::watch`] has loaded the table (or [`Self::loaded`] is used instead).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            known: RwLock::new(None),
            changes: watch::Sender::new(0),
        })
    }

    /// A set already known to hold exactly `user_ids` (tests, and tools that watch nothing).
    pub fn loaded<I: IntoIterator<Item = String>>(user_ids: I) -> Arc<Self> {
        let accounts = Self::new();
        accounts.add_loaded(user_ids.into_iter().collect());
        accounts
    }

    /// Whether the table was loaded at least once.
    pub fn is_loaded(&self) -> bool {
        self.read().is_some()
    }

    /// `Ok` when `user_id`'s account exists as far as this process knows; refused when it was
    /// deleted. Before the first load it waits for it, up to [`FIRST_LOAD_WAIT`], and then
    /// answers [`AuthError::AccountsUnknown`].
    pub async fn check(&self, user_id: &str) -> Result<(), AuthError> {
        if !self.is_loaded() {
            let mut changes = self.changes.subscribe();
            let loaded = changes.wait_for(|_| self.is_loaded());
            let _ = tokio::time::timeout(FIRST_LOAD_WAIT, loaded).await;
        }
        match self.read().as_ref() {
            None => Err(AuthError::AccountsUnknown),
            Some(erased) if erased.contains(user_id) => {
                Err(AuthError::Invalid("the account was deleted".into()))
            }
            Some(_) => Ok(()),
        }
    }

    /// Adds `user_id` (told by the trigger, or by the erasure in this process once it
    /// committed, so its own next request does not depend on the notification's timing).
    pub fn insert(&self, user_id: &str) {
        let mut known = self
            .known
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Before the first load the id is in the table the load will read.
        if let Some(erased) = known.as_mut()
            && erased.insert(user_id.to_owned())
        {
            drop(known);
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// A receiver that changes on every load and every added id (tests wait on it).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Keeps the set current from `erased_users` on the database of `pool` until `shutdown`,
    /// on a connection of its own (a listener holds its connection for good, so it does not
    /// take one from `pool`).
    pub async fn watch(self: Arc<Self>, pool: PgPool, shutdown: CancellationToken) {
        let own = crate::db::session_pool(&pool, 1, &[]);
        tokio::select! {
            () = self.watch_with(&own) => {}
            () = shutdown.cancelled() => {}
        }
    }

    async fn watch_with(&self, pool: &PgPool) {
        loop {
            match self.listen_and_load(pool).await {
                Ok(mut listener) => self.follow(&mut listener).await,
                Err(error) => {
                    tracing::warn!(%error, "erased accounts: cannot load or listen; trying again");
                }
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }

    /// Listens, then loads the table: an erasure that commits between the two is notified.
    async fn listen_and_load(&self, pool: &PgPool) -> sqlx::Result<PgListener> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        let user_ids: Vec<String> = sqlx::query_scalar("SELECT user_id FROM erased_users")
            .fetch_all(&mut listener)
            .await?;
        tracing::debug!(accounts = user_ids.len(), "erased accounts loaded");
        self.add_loaded(user_ids.into_iter().collect());
        Ok(listener)
    }

    /// Adds every notified id until the listening connection is lost.
    async fn follow(&self, listener: &mut PgListener) {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => self.insert(notification.payload()),
                // The connection was lost; what was notified meanwhile is gone: load again.
                Ok(None) => {
                    tracing::warn!("erased accounts: listener lost; loading the table again");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "erased accounts: listener failed; loading the table again");
                    return;
                }
            }
        }
    }

    /// Takes in a load of the table. Added to what is known rather than replacing it: the set
    /// only grows, and an erasure this process was told of after the load's snapshot (its
    /// notification still to come) stays refused meanwhile.
    fn add_loaded(&self, loaded: HashSet<String>) {
        {
            let mut known = self
                .known
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match known.as_mut() {
                Some(erased) => erased.extend(loaded),
                None => *known = Some(loaded),
            }
        }
        self.changes.send_modify(|n| *n += 1);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<HashSet<String>>> {
        self.known
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A verifier for `auth` that refuses the tokens of deleted accounts, and the set it reads: the
/// service runs [`ErasedAccounts::watch`] on it.
pub fn verifier(auth: &AuthSettings) -> (Arc<JwtVerifier>, Arc<ErasedAccounts>) {
    let erased = ErasedAccounts::new();
    let verifier = JwtVerifier::new(auth).with_erased(erased.clone());
    (Arc::new(verifier), erased)
}

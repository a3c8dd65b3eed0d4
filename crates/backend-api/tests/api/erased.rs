//! The deleted accounts every service keeps in memory ([`common::erased`]): loaded at start,
//! learned from the erasure's notification, loaded again after the listener was lost (the
//! notifications sent meanwhile are gone), and waited for, then a 503, before the first load.

use std::time::Duration;

use axum::response::IntoResponse;
use common::CancellationToken;
use common::auth::AuthError;
use common::erased::{ErasedAccounts, FIRST_LOAD_WAIT};
use common::error::ApiError;
use testkit::{fresh_database, mark_erased};

/// Waits for `erased` to refuse `user`, change by change (10 s at most).
async fn refused_soon(erased: &ErasedAccounts, user: &str) {
    let mut changes = erased.changes();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(erased.check(user).await, Err(AuthError::Invalid(_))) {
            changes.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{user} was never refused"));
}

#[tokio::test]
async fn an_erasure_is_learned_when_it_commits_and_one_missed_while_the_listener_was_away_on_reconnect()
 {
    let (pool, _) = fresh_database().await;
    mark_erased(&pool, "before", true).await;
    let erased = ErasedAccounts::new();
    let shutdown = CancellationToken::new();
    let watcher = tokio::spawn(erased.clone().watch(pool.clone(), shutdown.clone()));

    // The first check waits for the first load.
    assert!(matches!(
        erased.check("before").await,
        Err(AuthError::Invalid(_))
    ));
    erased.check("bob").await.unwrap();

    mark_erased(&pool, "told", true).await;
    refused_soon(&erased, "told").await;

    // Missed: committed without its notification. A notified erasure after it is learned, the
    // missed one is not...
    mark_erased(&pool, "missed", false).await;
    mark_erased(&pool, "told-after", true).await;
    refused_soon(&erased, "told-after").await;
    erased.check("missed").await.unwrap();
    // ...until the listener's connection is lost and the table is loaded again.
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query = 'SELECT user_id FROM erased_users'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the watcher's listening connection");
    refused_soon(&erased, "missed").await;
    erased.check("bob").await.unwrap();

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("the watcher stops on shutdown")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn before_the_first_load_a_check_waits_then_answers_unavailable_rather_than_unauthorized() {
    let erased = ErasedAccounts::new();
    let started = tokio::time::Instant::now();
    let refused = erased.check("alice").await.unwrap_err();
    assert_eq!(started.elapsed(), FIRST_LOAD_WAIT);
    assert!(matches!(refused, AuthError::AccountsUnknown));
    // A 401 would sign the user out of a good session; the replica is only starting.
    let response = ApiError::from(refused).into_response();
    assert_eq!(response.status(), 503);

    let loaded = ErasedAccounts::loaded(["gone".to_owned()]);
    loaded.check("alice").await.unwrap();
    assert!(matches!(
        loaded.check("gone").await,
        Err(AuthError::Invalid(_))
    ));
    let response = ApiError::from(loaded.check("gone").await.unwrap_err()).into_response();
    assert_eq!(response.status(), 401);
}

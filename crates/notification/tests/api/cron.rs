//! The reminder-cron safety net and the claim it shares with the loop.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::future::join_all;
use notification::reminders::{ClaimSettings, claim_due_reminders};

use crate::helpers::{
    cron_only, fresh_database, insert_task, notification_count, reminder_events, settings,
    spawn_instance, spawn_instance_with, token,
};

#[tokio::test]
async fn a_past_due_reminder_the_scheduler_never_heard_of_is_fired_by_the_cron_tick() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, cron_only()).await;
    let past = Utc::now() - TimeDelta::seconds(30);
    // No NOTIFY and no loop: only the cron tick can find it.
    let task = insert_task(&pool, "alice", "missed", Some(past)).await;

    let (status, body) = instance.cron_tick().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fired"], 1);
    assert_eq!(notification_count(&pool, task).await, 1);
    assert_eq!(reminder_events(&pool, task).await.len(), 1);

    let (status, body) = instance.cron_tick().await;
    assert_eq!(status, 200);
    assert_eq!(body["fired"], 0, "a second tick fires nothing again");
    assert_eq!(reminder_events(&pool, task).await.len(), 1);
}

#[tokio::test]
async fn an_empty_cron_tick_answers_200() {
    let (_pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, cron_only()).await;
    let (status, body) = instance.cron_tick().await;
    assert_eq!(status, 200);
    assert_eq!(body["fired"], 0);
}

#[tokio::test]
async fn cron_ticks_on_two_instances_at_once_fire_each_reminder_once() {
    let (pool, url) = fresh_database().await;
    let first = spawn_instance(&url, cron_only()).await;
    let second = spawn_instance(&url, cron_only()).await;
    let past = Utc::now() - TimeDelta::seconds(5);
    let mut tasks = Vec::new();
    for i in 0..20 {
        tasks.push(insert_task(&pool, &format!("user{}", i % 3), "due", Some(past)).await);
    }
    let ticks = (0..8).flat_map(|_| [first.cron_tick(), second.cron_tick()]);
    let results = join_all(ticks).await;
    let mut fired = 0;
    for (status, body) in results {
        assert_eq!(status, 200, "{body}");
        fired += body["fired"].as_i64().unwrap();
    }
    assert_eq!(fired, 20);
    for task in tasks {
        assert_eq!(notification_count(&pool, task).await, 1);
        assert_eq!(reminder_events(&pool, task).await.len(), 1);
    }
}

#[tokio::test]
async fn the_claim_fires_at_the_reminder_time_not_before_and_skips_reminders_past_the_catch_up_window()
 {
    let (pool, _url) = fresh_database().await;
    let settings = ClaimSettings::default();
    let at = Utc::now() + TimeDelta::hours(1);
    let task = insert_task(&pool, "alice", "later", Some(at)).await;
    let stale = insert_task(&pool, "alice", "stale", Some(at - TimeDelta::hours(25))).await;

    let early = claim_due_reminders(&pool, at - TimeDelta::milliseconds(1), &settings)
        .await
        .unwrap();
    assert!(early.is_empty(), "fired early: {early:?}");
    let fired = claim_due_reminders(&pool, at, &settings).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].task_id, task);
    let again = claim_due_reminders(&pool, at + TimeDelta::seconds(5), &settings)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(notification_count(&pool, stale).await, 0);
}

#[tokio::test]
async fn concurrent_claims_in_small_batches_fire_every_due_reminder_exactly_once() {
    let (pool, _url) = fresh_database().await;
    let settings = ClaimSettings {
        batch_size: 7,
        ..ClaimSettings::default()
    };
    let past = Utc::now() - TimeDelta::seconds(1);
    for i in 0..50 {
        insert_task(&pool, &format!("user{}", i % 5), "due", Some(past)).await;
    }
    let now = Utc::now();
    let claims = (0..6).map(|_| claim_due_reminders(&pool, now, &settings));
    let fired: usize = join_all(claims)
        .await
        .into_iter()
        .map(|r| r.unwrap().len())
        .sum();
    assert_eq!(fired, 50);
    let (notifications, events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM notifications), (SELECT count(*) FROM outbox WHERE topic = 'reminder-due')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((notifications, events), (50, 50));
}

#[tokio::test]
async fn the_cron_route_requires_the_app_token_when_one_is_configured() {
    let (_pool, url) = fresh_database().await;
    let mut with_token = settings(&url);
    with_token.app_api_token = Some("sidecar-secret".into());
    let instance = spawn_instance_with(with_token, cron_only()).await;
    let tick = |token: Option<&str>, bearer: bool| {
        let mut request = instance
            .client
            .post(format!("{}/reminder-cron", instance.address))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        if bearer {
            request = request.bearer_auth(self::token("alice"));
        }
        request.timeout(Duration::from_secs(5)).send()
    };
    assert_eq!(tick(None, false).await.unwrap().status(), 401);
    assert_eq!(
        tick(None, true).await.unwrap().status(),
        401,
        "a user JWT is no app token"
    );
    assert_eq!(tick(Some("wrong"), false).await.unwrap().status(), 403);
    assert_eq!(
        tick(Some("sidecar-secret"), false).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn deleting_a_fired_reminders_notification_does_not_fire_it_again() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, cron_only()).await;
    let task = insert_task(
        &pool,
        "alice",
        "water the plants",
        Some(Utc::now() - TimeDelta::seconds(5)),
    )
    .await;
    let (_, body) = instance.cron_tick().await;
    assert_eq!(body["fired"], 1);
    let (_, page) = instance.get_json("alice", "/api/notifications").await;
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let deleted = instance
        .request(
            reqwest::Method::DELETE,
            &format!("/api/notifications/{id}"),
            "alice",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    for _ in 0..3 {
        let (status, body) = instance.cron_tick().await;
        assert_eq!(status, 200);
        assert_eq!(
            body["fired"], 0,
            "the reminder fired already; its notification is only gone"
        );
    }
    assert_eq!(notification_count(&pool, task).await, 0);
    assert_eq!(reminder_events(&pool, task).await.len(), 1);
    // A new reminder time is a new reminder.
    sqlx::query("UPDATE tasks SET reminder_at = now() - interval '1 second' WHERE id = $1")
        .bind(task)
        .execute(&pool)
        .await
        .unwrap();
    let (_, body) = instance.cron_tick().await;
    assert_eq!(body["fired"], 1);
    assert_eq!(reminder_events(&pool, task).await.len(), 2);
}

#[tokio::test]
async fn firings_older_than_the_catch_up_window_are_forgotten() {
    let (pool, _url) = fresh_database().await;
    let settings = ClaimSettings::default();
    let now = Utc::now();
    let old = insert_task(&pool, "alice", "old", Some(now - TimeDelta::seconds(10))).await;
    assert_eq!(
        claim_due_reminders(&pool, now, &settings)
            .await
            .unwrap()
            .len(),
        1
    );
    let later = now + TimeDelta::hours(26);
    let fresh = insert_task(
        &pool,
        "alice",
        "fresh",
        Some(later - TimeDelta::seconds(10)),
    )
    .await;
    assert_eq!(
        claim_due_reminders(&pool, later, &settings)
            .await
            .unwrap()
            .len(),
        1
    );
    let forgotten = notification::reminders::forget_fired_reminders(&pool, later, &settings)
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT task_id FROM fired_reminders")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, [fresh]);
    // The forgotten one is outside the window: it does not fire again either.
    assert!(
        claim_due_reminders(&pool, later, &settings)
            .await
            .unwrap()
            .is_empty()
    );
    assert_ne!(old, fresh);
}

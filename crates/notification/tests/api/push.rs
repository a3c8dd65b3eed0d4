//! Web Push: browsers register their subscriptions, and a fired reminder (the `reminder-due`
//! delivery) reaches each of its user's browsers as a message encrypted for that browser and
//! signed with the VAPID key, checked and decrypted by a stand-in push service.

use chrono::{Duration, Utc};
use common::events::CloudEvent;
use common::reminders::{ReminderDueData, ReminderDueEvent};
use notification::push::{PushSettings, VapidKey};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::push_service::{Browser, PushService, start_push_service};
use uuid::Uuid;

use crate::helpers::{Instance, error_code, fresh_database, spawn_push_instance};

fn push_settings(allow_insecure_endpoints: bool) -> PushSettings {
    PushSettings {
        key: Some(VapidKey::generate().1),
        subject: "mailto:ops@taskfleet.test".to_owned(),
        allow_insecure_endpoints,
    }
}

async fn register(instance: &Instance, user: &str, browser: &Browser) -> (u16, Value) {
    let response = instance
        .request(Method::POST, "/api/push/subscriptions", user)
        .json(&browser.subscription)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn reminder(user: &str, title: &str, fired_at: chrono::DateTime<Utc>) -> ReminderDueEvent {
    ReminderDueEvent::new(
        user.to_owned(),
        1,
        ReminderDueData {
            task_id: Uuid::now_v7(),
            title: title.to_owned(),
            reminder_at: fired_at,
            notification_id: Uuid::now_v7(),
            due_date: None,
        },
        fired_at,
    )
}

/// Delivers `event` on `reminder-due` as the sidecar does; the reply status.
async fn deliver(instance: &Instance, event: &ReminderDueEvent) -> String {
    let body =
        serde_json::to_vec(&CloudEvent::for_reminder("notification", event.clone())).unwrap();
    instance.deliver("reminder-due", body).await
}

async fn subscriptions_of(pool: &sqlx::PgPool, user: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM push_subscriptions WHERE user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn setup() -> (sqlx::PgPool, Instance, PushService) {
    let (pool, url) = fresh_database().await;
    let instance = spawn_push_instance(&url, push_settings(true)).await;
    (pool, instance, start_push_service().await)
}

#[tokio::test]
async fn a_fired_reminder_reaches_every_browser_of_its_user_encrypted_signed_and_once() {
    let (_pool, instance, service) = setup().await;
    let (laptop, phone, bobs) = (
        service.subscribe(),
        service.subscribe(),
        service.subscribe(),
    );
    for (user, browser) in [("alice", &laptop), ("alice", &phone), ("bob", &bobs)] {
        assert_eq!(register(&instance, user, browser).await.0, 201);
    }
    let event = reminder("alice", "Water the plants", Utc::now());
    assert_eq!(deliver(&instance, &event).await, "SUCCESS");

    let received = service.received();
    assert!(service.refused().is_empty(), "{:?}", service.refused());
    let mut browsers: Vec<&str> = received.iter().map(|r| r.browser.as_str()).collect();
    browsers.sort_unstable();
    let mut expected = vec![laptop.id.as_str(), phone.id.as_str()];
    expected.sort_unstable();
    assert_eq!(browsers, expected, "alice's two browsers, not bob's");
    let task_id = event.data.task_id;
    for message in &received {
        assert_eq!(message.message["type"], "reminder.due");
        assert_eq!(message.message["title"], "Water the plants");
        assert_eq!(message.message["task_id"], json!(task_id));
        assert_eq!(message.message["url"], format!("/tasks?task={task_id}"));
        assert_eq!(message.message["tag"], format!("reminder-{task_id}"));
        assert_eq!(message.headers["ttl"], "3600");
        assert_eq!(message.headers["urgency"], "high");
        assert_eq!(message.headers["topic"], task_id.simple().to_string());
    }

    // Redelivered: pushed once already.
    assert_eq!(deliver(&instance, &event).await, "SUCCESS");
    assert_eq!(service.received().len(), 2);
    // A reminder that fired long ago (delivered after an outage) is not pushed late.
    let stale = reminder("alice", "Yesterday's", Utc::now() - Duration::hours(2));
    assert_eq!(deliver(&instance, &stale).await, "SUCCESS");
    assert_eq!(service.received().len(), 2);
}

/// A reminder of a user without browsers costs one read and no write: nothing is remembered
/// (most users have no browser subscribed, and a record per reminder was a synchronous commit
/// each). Once a browser subscribed, a redelivery reaches it, once.
#[tokio::test]
async fn a_reminder_of_a_user_without_browsers_writes_nothing_and_a_later_browser_gets_it_once() {
    let (pool, instance, service) = setup().await;
    let event = reminder("carol", "Renew the passport", Utc::now());
    assert_eq!(deliver(&instance, &event).await, "SUCCESS");
    let records = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM processed_events")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(records().await, 0);
    let laptop = service.subscribe();
    assert_eq!(register(&instance, "carol", &laptop).await.0, 201);
    for _ in 0..2 {
        assert_eq!(deliver(&instance, &event).await, "SUCCESS");
    }
    assert_eq!(service.received().len(), 1);
    assert_eq!(records().await, 1);
}

#[tokio::test]
async fn a_browser_that_unsubscribed_is_forgotten_and_an_outage_is_retried() {
    let (pool, instance, service) = setup().await;
    let (gone, flaky) = (service.subscribe(), service.subscribe());
    register(&instance, "alice", &gone).await;
    register(&instance, "alice", &flaky).await;
    service.answer(&gone, 410);
    service.answer(&flaky, 503);

    let event = reminder("alice", "Call mum", Utc::now());
    assert_eq!(deliver(&instance, &event).await, "RETRY");
    assert_eq!(
        subscriptions_of(&pool, "alice").await,
        1,
        "410 ends the subscription"
    );
    service.answer(&flaky, 201);
    assert_eq!(deliver(&instance, &event).await, "SUCCESS");
    let received = service.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].browser, flaky.id);
    assert_eq!(received[0].message["title"], "Call mum");
    // Garbage on the topic is dropped, not retried.
    assert_eq!(
        instance.deliver("reminder-due", b"{}".to_vec()).await,
        "DROP"
    );
}

#[tokio::test]
async fn subscriptions_are_checked_belong_to_their_user_and_go_with_the_account() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_push_instance(&url, push_settings(false)).await;
    let service = start_push_service().await;

    let (status, body) = instance.get_json("alice", "/api/push/public-key").await;
    assert_eq!(status, 200);
    assert_eq!(body["public_key"].as_str().unwrap().len(), 87);

    // This instance takes only https push services on the internet: the stand-in's loopback
    // http endpoint is refused, as an internal address would be.
    let browser = service.subscribe();
    let (status, body) = register(&instance, "alice", &browser).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (422, "validation_failed")
    );
    let mut public = browser.subscription.clone();
    public["endpoint"] = json!("https://push.example.com/send/abc");
    let mut bad_keys = public.clone();
    bad_keys["keys"]["auth"] = json!("c2hvcnQ");
    for (user, body, expected) in [
        ("alice", bad_keys, 422),
        (
            "alice",
            json!({"endpoint": "https://push.example.com/x"}),
            422,
        ),
        ("alice", public.clone(), 201),
    ] {
        let response = instance
            .request(Method::POST, "/api/push/subscriptions", user)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{body}");
    }
    // Bob cannot end alice's subscription; alice can.
    for (user, left) in [("bob", 1), ("alice", 0)] {
        let response = instance
            .request(Method::DELETE, "/api/push/subscriptions", user)
            .json(&json!({"endpoint": "https://push.example.com/send/abc"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(subscriptions_of(&pool, "alice").await, left);
    }
    // Without a token: nothing.
    let response = instance
        .client
        .post(format!("{}/api/push/subscriptions", instance.address))
        .json(&public)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A deleted account's subscriptions go with it.
    instance
        .request(Method::POST, "/api/push/subscriptions", "alice")
        .json(&public)
        .send()
        .await
        .unwrap();
    assert_eq!(
        instance
            .deliver("user-deleted", crate::helpers::user_deleted("alice"))
            .await,
        "SUCCESS"
    );
    assert_eq!(subscriptions_of(&pool, "alice").await, 0);
}

/// A registration whose token was checked just before the account's erasure committed (here:
/// erased without telling this instance) stores nothing: `user-deleted` may have cleared the
/// account's subscriptions already, and nothing would remove this one.
#[tokio::test]
async fn a_registration_for_an_erased_account_stores_nothing() {
    let (pool, instance, service) = setup().await;
    // The instance has loaded the erased accounts (its first request waits for that).
    assert_eq!(
        register(&instance, "bob", &service.subscribe()).await.0,
        201
    );
    testkit::mark_erased(&pool, "alice", false).await;
    let (status, body) = register(&instance, "alice", &service.subscribe()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (410, "account_deleted")
    );
    assert_eq!(subscriptions_of(&pool, "alice").await, 0);
}

#[tokio::test]
async fn without_a_vapid_key_push_is_off() {
    let (_pool, url) = fresh_database().await;
    let instance = spawn_push_instance(&url, PushSettings::default()).await;
    let service = start_push_service().await;
    let (status, body) = instance.get_json("alice", "/api/push/public-key").await;
    assert_eq!((status, error_code(&body).as_str()), (404, "push_disabled"));
    let (status, body) = register(&instance, "alice", &service.subscribe()).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "push_disabled"));
    assert_eq!(
        deliver(&instance, &reminder("alice", "x", Utc::now())).await,
        "SUCCESS"
    );
    assert!(service.received().is_empty());
}

/// The records of reminders pushed are bounded: a running instance forgets those older than
/// the retention (at start, then hourly), and only its own.
#[tokio::test]
async fn a_running_instance_forgets_push_records_past_their_retention_only() {
    let (pool, url) = fresh_database().await;
    let (old, recent, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (consumer, id, age_days) in [
        (notification::push::send::CONSUMER, old, 20),
        (notification::push::send::CONSUMER, recent, 1),
        ("recurring", other, 20),
    ] {
        testkit::record_processed_days_ago(&pool, consumer, id, age_days).await;
    }
    let _instance = spawn_push_instance(&url, push_settings(true)).await;
    let left = crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "the old push record forgotten",
        || async {
            let left: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM processed_events")
                .fetch_all(&pool)
                .await
                .unwrap();
            (left.len() == 2).then_some(left)
        },
    )
    .await;
    assert!(left.contains(&recent) && left.contains(&other), "{left:?}");
}

/// An endpoint whose name resolves inside (here `localhost`: registered as a public name, its
/// DNS later pointed at this machine, say) is not posted to: the push client connects to public
/// addresses only, and the subscription is forgotten.
#[tokio::test]
async fn a_push_endpoint_whose_name_resolves_inside_is_not_posted_to_and_is_forgotten() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_push_instance(&url, push_settings(false)).await;
    let service = start_push_service().await;
    let browser = service.subscribe();
    let endpoint = browser.subscription["endpoint"]
        .as_str()
        .unwrap()
        .replace("127.0.0.1", "localhost");
    assert!(endpoint.contains("//localhost:"), "{endpoint}");
    // Stored as registration would have stored it for a public name.
    sqlx::query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) \
         VALUES ($1, 'dora', $2, $3, $4)",
    )
    .bind(Uuid::now_v7())
    .bind(&endpoint)
    .bind(browser.subscription["keys"]["p256dh"].as_str().unwrap())
    .bind(browser.subscription["keys"]["auth"].as_str().unwrap())
    .execute(&pool)
    .await
    .unwrap();

    let event = reminder("dora", "Check the boiler", Utc::now());
    assert_eq!(deliver(&instance, &event).await, "SUCCESS");
    assert!(
        service.received().is_empty() && service.refused().is_empty(),
        "posted to an internal address"
    );
    assert_eq!(subscriptions_of(&pool, "dora").await, 0);
}

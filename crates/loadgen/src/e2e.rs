//! Event end-to-end latency and reminder lateness, observed on real WebSocket connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use hyper::Method;
use hyper::header::HeaderValue;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Options;
use crate::report::Measured;
use crate::throughput::{Connection, bearer, client, tokens};

/// What the sockets saw: (task id, version) → receipt instant and how long after the task's
/// `updated_at` it came; task id → reminder receipt time.
#[derive(Default)]
struct Seen {
    pushes: HashMap<(String, i64), (Instant, Option<Duration>)>,
    reminders: HashMap<String, DateTime<Utc>>,
}

async fn listen(
    options: &Options,
    tokens: &[String],
    seen: Arc<Mutex<Seen>>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut readers = Vec::new();
    for token in tokens {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("{}/ws?token={token}", options.ws)).await?;
        let seen = seen.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let received = Instant::now();
                let wall = Utc::now();
                let Ok(push) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let task_id = push["task_id"].as_str().unwrap_or_default().to_owned();
                let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                if push["type"] == "reminder.due" {
                    seen.reminders.entry(task_id).or_insert(wall);
                } else if let Some(version) = push["version"].as_i64() {
                    // The service stamps `updated_at` just before the write's statement: what
                    // follows it is the commit and the event's way out (same machine, same
                    // clock).
                    let after_write = push["task"]["updated_at"]
                        .as_str()
                        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                        .and_then(|at| (wall - at.with_timezone(&Utc)).to_std().ok());
                    seen.pushes
                        .entry((task_id, version))
                        .or_insert((received, after_write));
                }
            }
        }));
    }
    Ok(readers)
}

/// Each write's push latency from the moment its request was sent, and the part of it after
/// the service stamped the task (`updated_at`): the commit, the outbox relay, the sidecar, the
/// broker and the websocket service; the rest is the request's way in.
pub struct EndToEnd {
    pub from_request: Measured,
    pub from_stamp: Measured,
}

/// Creates, updates and completes tasks of the listening users with 8 writers for the duration
/// and measures each write's push latency ([`EndToEnd`]). With
/// `--e2e-rate`, the writers together issue about that many writes per second (latency at a
/// given load); with 0 they write as fast as they can (latency at saturation).
pub async fn end_to_end(options: &Options) -> anyhow::Result<EndToEnd> {
    let tokens = Arc::new(tokens(options, "listener", options.listeners)?);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let readers = listen(options, &tokens, seen.clone()).await?;
    let authorizations: Arc<Vec<HeaderValue>> = Arc::new(
        tokens
            .iter()
            .map(|t| bearer(t))
            .collect::<anyhow::Result<_>>()?,
    );
    let connections = (0..8)
        .map(|_| Connection::new(options))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let started = Instant::now();
    let deadline = started + options.duration;
    let writers = connections
        .into_iter()
        .enumerate()
        .map(|(worker, mut connection)| {
            let authorizations = authorizations.clone();
            // Each round is three writes; eight writers share the rate.
            let pace = (options.e2e_rate > 0)
                .then(|| Duration::from_secs_f64(3.0 * 8.0 / options.e2e_rate as f64));
            tokio::spawn(async move {
                let mut sent: Vec<((String, i64), Instant)> = Vec::new();
                let mut errors = 0;
                let mut n = worker;
                let mut ticker = pace.map(|every| {
                    let mut ticker = tokio::time::interval(every);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    ticker
                });
                // A write as the user of `authorization`: its body when it succeeded.
                let mut write = async |method: Method,
                                       target: &str,
                                       authorization: &HeaderValue,
                                       body: &'static str| {
                    let body = (!body.is_empty()).then(|| Bytes::from_static(body.as_bytes()));
                    let target = target.parse().ok()?;
                    let request = connection.request(method, target, authorization, body);
                    connection
                        .send(request)
                        .await
                        .filter(|(status, _)| status.is_success())
                };
                while Instant::now() < deadline {
                    if let Some(ticker) = &mut ticker {
                        ticker.tick().await;
                    }
                    let authorization = &authorizations[n % authorizations.len()];
                    n += 8;
                    let at = Instant::now();
                    let created = write(
                        Method::POST,
                        "/api/tasks",
                        authorization,
                        r#"{"title":"e2e"}"#,
                    )
                    .await;
                    let Some(task) =
                        created.and_then(|(_, body)| serde_json::from_slice::<Value>(&body).ok())
                    else {
                        errors += 1;
                        continue;
                    };
                    let id = task["id"].as_str().unwrap_or_default().to_owned();
                    sent.push(((id.clone(), 1), at));
                    let at = Instant::now();
                    match write(
                        Method::PATCH,
                        &format!("/api/tasks/{id}"),
                        authorization,
                        r#"{"title":"e2e 2"}"#,
                    )
                    .await
                    {
                        Some(_) => sent.push(((id.clone(), 2), at)),
                        None => errors += 1,
                    }
                    let at = Instant::now();
                    match write(
                        Method::POST,
                        &format!("/api/tasks/{id}/complete"),
                        authorization,
                        "",
                    )
                    .await
                    {
                        Some(_) => sent.push(((id, 3), at)),
                        None => errors += 1,
                    }
                }
                (sent, errors)
            })
        });
    let mut sent = Vec::new();
    let mut measured = Measured::new();
    let mut from_stamp = Measured::new();
    for writer in futures::future::join_all(writers).await {
        let (writes, errors) = writer?;
        sent.extend(writes);
        measured.errors += errors;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    for (key, at) in sent {
        match seen.pushes.get(&key) {
            Some((received, after_write)) => {
                measured.record(received.saturating_duration_since(at).as_micros() as u64);
                measured.ok += 1;
                if let Some(after_write) = after_write {
                    from_stamp.record(after_write.as_micros() as u64);
                    from_stamp.ok += 1;
                }
            }
            None => measured.missing += 1,
        }
    }
    readers.iter().for_each(|r| r.abort());
    Ok(EndToEnd {
        from_request: measured,
        from_stamp,
    })
}

/// Sets `--reminders` reminders 3–8 s ahead and measures how late each `reminder.due` arrives.
pub async fn reminder_lateness(options: &Options) -> anyhow::Result<Measured> {
    let tokens = Arc::new(tokens(options, "reminded", options.listeners)?);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let readers = listen(options, &tokens, seen.clone()).await?;
    let http = client()?;
    let first = Utc::now() + chrono::Duration::seconds(3);
    let spread_ms = 5_000 / options.reminders.max(1) as i64;
    let mut expected: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut measured = Measured::new();
    for i in 0..options.reminders {
        let at = first + chrono::Duration::milliseconds(spread_ms * i as i64);
        let token = &tokens[i % tokens.len()];
        let body = json!({"title": format!("reminder {i}"), "reminder_at": at.to_rfc3339()});
        match http
            .post(format!("{}/api/tasks", options.api))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                let task: Value = response.json().await?;
                expected.push((task["id"].as_str().unwrap_or_default().to_owned(), at));
            }
            _ => measured.errors += 1,
        }
    }
    let last = expected.iter().map(|(_, at)| *at).max().unwrap_or(first);
    let give_up = last + chrono::Duration::seconds(65);
    loop {
        let done = {
            let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            expected
                .iter()
                .all(|(id, _)| seen.reminders.contains_key(id))
        };
        if done || Utc::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    for (id, at) in expected {
        match seen.reminders.get(&id) {
            Some(received) => {
                measured.record((*received - at).num_microseconds().unwrap_or(0).max(0) as u64);
                measured.ok += 1;
            }
            None => measured.missing += 1,
        }
    }
    readers.iter().for_each(|r| r.abort());
    Ok(measured)
}
